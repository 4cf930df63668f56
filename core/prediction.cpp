#include "prediction.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace studio {

namespace {

// Ids ordered by logit, highest first, ties by lower id; only the first `count` sorted.
std::vector<int> rankedIds(const RowVector &logits, int count)
{
    std::vector<int> ids(size_t(logits.size()));
    std::iota(ids.begin(), ids.end(), 0);
    count = std::clamp(count, 0, int(ids.size()));
    const auto higher = [&](int a, int b) {
        // NaN logits rank last, so that a broken row still lists its finite tokens first.
        const float la = std::isnan(logits[a]) ? -INFINITY : logits[a];
        const float lb = std::isnan(logits[b]) ? -INFINITY : logits[b];
        return la != lb ? la > lb : a < b;
    };
    std::partial_sort(ids.begin(), ids.begin() + count, ids.end(), higher);
    ids.resize(size_t(count));
    return ids;
}

// log Σ exp(x_i / τ), in double, from the largest term so that nothing overflows.
double logSumExp(const RowVector &logits, double temperature, float largest)
{
    double sum = 0;
    for (Eigen::Index i = 0; i < logits.size(); ++i)
        if (std::isfinite(logits[i]))
            sum += std::exp((double(logits[i]) - largest) / temperature);
    return double(largest) / temperature + std::log(sum);
}

} // namespace

std::vector<TokenChoice> topTokens(const RowVector &logits, int k)
{
    std::vector<TokenChoice> out;
    const std::vector<int> ids = rankedIds(logits, k);
    if (ids.empty() || !std::isfinite(logits[ids.front()]))
        return out;
    const double normaliser = logSumExp(logits, 1.0, logits[ids.front()]);
    for (int id : ids) {
        const float logit = logits[id];
        out.push_back({id, logit, std::isfinite(logit) ? std::exp(double(logit) - normaliser) : 0.0});
    }
    return out;
}

std::vector<TokenChoice> samplingDistribution(const RowVector &logits, const SamplingSettings &settings)
{
    const double temperature = settings.temperature > 0 && std::isfinite(settings.temperature) ? settings.temperature : 1.0;
    const int vocab = int(logits.size());
    const int keepK = settings.topK > 0 ? std::min(settings.topK, vocab) : vocab;
    // Top-k (and the order top-p needs): only the kept tokens are sorted.
    std::vector<int> ids = rankedIds(logits, keepK);
    std::vector<TokenChoice> out;
    if (ids.empty() || !std::isfinite(logits[ids.front()]))
        return out;
    const float largest = logits[ids.front()];
    double total = 0;
    for (int id : ids) {
        const double weight = std::isfinite(logits[id]) ? std::exp((double(logits[id]) - largest) / temperature) : 0.0;
        out.push_back({id, logits[id], weight});
        total += weight;
    }
    for (TokenChoice &choice : out)
        choice.probability /= total;
    // Top-p: a token stays while the mass of the tokens ranked above it is below p (the first always).
    const double p = std::clamp(settings.topP, 0.0, 1.0);
    if (p < 1.0) {
        double before = 0;
        size_t kept = 0;
        while (kept < out.size() && (kept == 0 || before < p)) {
            before += out[kept].probability;
            ++kept;
        }
        out.resize(kept);
        double mass = 0;
        for (const TokenChoice &choice : out)
            mass += choice.probability;
        for (TokenChoice &choice : out)
            choice.probability /= mass;
    }
    // Zero-weight tokens (−∞ logits) are never drawn.
    while (!out.empty() && out.back().probability <= 0)
        out.pop_back();
    return out;
}

int greedyToken(const RowVector &logits)
{
    const std::vector<int> ids = rankedIds(logits, 1);
    return ids.empty() ? -1 : ids.front();
}

int sampleToken(const std::vector<TokenChoice> &distribution, quint64 seed)
{
    if (distribution.empty())
        return -1;
    // mt19937_64 and a uniform double in [0, 1) built from its bits: both fixed by the standard,
    // unlike std::discrete_distribution's algorithm, so a seed draws the same token everywhere.
    std::mt19937_64 generator(seed);
    const double u = double(generator() >> 11) * 0x1.0p-53;
    double cumulative = 0;
    for (const TokenChoice &choice : distribution) {
        cumulative += choice.probability;
        if (u < cumulative)
            return choice.id;
    }
    return distribution.back().id;
}

} // namespace studio

// What the analyses cost: attention flow at growing sizes (with its cost estimate, to calibrate the
// window's limit), rollout, and one position's next-token logits on a GPT-2-small-sized head.
// Prints figures; passes or fails nothing.

#include "aggregation.h"
#include "attentionflow.h"

#include <QElapsedTimer>

#include <cstdio>
#include <random>

using namespace studio;

namespace {

std::vector<std::vector<Matrix>> randomLayers(int layers, int heads, int tokens, std::mt19937 &generator)
{
    std::normal_distribution<float> logit(0.0f, 2.0f);
    std::vector<std::vector<Matrix>> out(static_cast<size_t>(layers));
    for (auto &layer : out) {
        for (int h = 0; h < heads; ++h) {
            Matrix a = Matrix::Zero(tokens, tokens);
            for (int i = 0; i < tokens; ++i) {
                for (int j = 0; j <= i; ++j)
                    a(i, j) = std::exp(logit(generator));
                a.row(i) /= a.row(i).sum();
            }
            layer.push_back(a);
        }
    }
    return out;
}

} // namespace

int main()
{
    std::mt19937 generator(1);
    std::printf("attention flow (12 heads per layer, causal, random peaked maps)\n");
    std::printf("%6s %6s %14s %10s %12s\n", "layers", "tokens", "cost", "ms", "ns per unit");
    for (const auto &[layers, tokens] : std::vector<std::pair<int, int>>{{2, 12}, {6, 12}, {12, 12}, {12, 16}, {12, 24}, {12, 32}, {6, 48}, {12, 40}}) {
        const auto maps = randomLayers(layers, 12, tokens, generator);
        QElapsedTimer timer;
        timer.start();
        const auto flow = attentionFlow(maps);
        const double ms = double(timer.nsecsElapsed()) / 1e6;
        const double cost = attentionFlowCost(layers, tokens);
        std::printf("%6d %6d %14.0f %10.1f %12.3f\n", layers, tokens, cost, ms, ms * 1e6 / cost);
    }
    std::printf("\nattention rollout (12 heads per layer)\n%6s %6s %10s\n", "layers", "tokens", "ms");
    for (const auto &[layers, tokens] : std::vector<std::pair<int, int>>{{12, 32}, {12, 128}, {12, 512}}) {
        const auto maps = randomLayers(layers, 12, tokens, generator);
        QElapsedTimer timer;
        timer.start();
        const auto rollout = attentionRollout(maps);
        std::printf("%6d %6d %10.1f\n", layers, tokens, double(timer.nsecsElapsed()) / 1e6);
    }
    return 0;
}

#pragma once

#include "tensor.h"

#include <QtGlobal>

#include <vector>

namespace studio {

// One candidate next token.
struct TokenChoice {
    int id = 0;
    float logit = 0;
    double probability = 0; // softmax over the whole vocabulary (prediction) or over the kept set (sampling)
};

// The k highest logits, highest first (ties by lower id), each with its softmax probability over
// the whole vocabulary at temperature 1: the model's own prediction, as the trace reports it.
std::vector<TokenChoice> topTokens(const RowVector &logits, int k);

// How the next token is drawn. Separate from the attention temperature, which changes what every
// attention softmax computes: this one only reshapes the final distribution over the vocabulary.
struct SamplingSettings {
    double temperature = 1.0; // logits / τ before the softmax; τ → 0 approaches greedy
    int topK = 0;             // keep the k most likely tokens; 0 = all
    double topP = 1.0;        // then keep the fewest most likely tokens whose mass reaches p; 1 = all
};

// The distribution a token is sampled from, as transformers' generate() builds it (temperature,
// then top-k, then top-p; at least one token kept): the kept tokens, most likely first, with
// probabilities renormalised over them.
std::vector<TokenChoice> samplingDistribution(const RowVector &logits, const SamplingSettings &settings);

// The most likely token (greedy decoding); ties go to the lower id. -1 for no logits.
int greedyToken(const RowVector &logits);

// A token drawn from the distribution with a generator seeded by `seed` (the same seed, the same
// token on every machine); -1 for an empty distribution.
int sampleToken(const std::vector<TokenChoice> &distribution, quint64 seed);

} // namespace studio

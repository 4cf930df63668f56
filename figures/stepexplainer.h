#pragma once

#include "attentionresult.h"

#include <QString>

#include <cmath>

namespace studio {

// The arithmetic of one stage for one query (and key) written out, so a learner can follow one
// number from the embeddings to the final weight. Returns HTML. Pure: no widgets.
// hiddenQuery: a query whose weights a class predicts first; the weights and output stages of
// that query say so instead of giving the numbers away.
QString explainStage(const AttentionResult &result, const HeadDetails &details, Stage stage,
                     int query, int key, Projection projection, int hiddenQuery = -1);

// The arithmetic's steps, for presenting it a step at a time: its top-level paragraphs and tables,
// in order (joined, they give the HTML back).
QStringList arithmeticSteps(const QString &html);

// A dot product written term by term: "a₁·b₁ + a₂·b₂ + … = s", at most maxTerms terms shown.
QString writeDotProduct(const Eigen::Ref<const RowVector> &a, const Eigen::Ref<const RowVector> &b, int maxTerms = 16);
// A number as the step-through shows it: 4 significant digits, a real minus sign, 4.933×10⁻⁹
// rather than 4.933e-09.
QString number(double value);
QString factor(double value); // the same, in brackets when negative (a factor of a product)

// The two numbers of one softmax row: the largest masked / τ (subtracted first, so no
// exponential overflows) and Σ exp(masked / τ − max). max is −∞ when every key is masked.
struct SoftmaxRow {
    double max = -INFINITY;
    double sum = 0;
};
SoftmaxRow softmaxRow(const HeadTrace &trace, int row, double temperature);

} // namespace studio

#pragma once

#include "prediction.h"

#include <QFont>
#include <QRectF>
#include <QString>
#include <QStringList>

#include <functional>
#include <vector>

class QPainter;

namespace studio {

// One candidate in the prediction panel.
struct PredictionRow {
    int id = 0;
    QString label;         // the token as a person reads it
    float logit = 0;
    double probability = 0; // the model's softmax over the whole vocabulary
    double chance = 0;      // of being drawn with the sampling settings; 0 when filtered out
    bool kept = true;       // within top-k and top-p
};

// The most likely next tokens of one position as bars: the bar is the chance of being drawn with
// the sampling settings, the tick on it the model's own probability.
struct PredictionFigure {
    std::vector<PredictionRow> rows;
    QStringList caption;
};

// The figure for logits (vocabulary): the `count` most likely tokens by logit, with their chance
// under the settings. label(id) names a token.
PredictionFigure predictionFigure(const RowVector &logits, const std::function<QString(int)> &label,
                                  const SamplingSettings &settings, int count);

// Where each row's parts go: the token, the bar (its full width is probability 1), the numbers.
struct PredictionLayout {
    PredictionLayout(int rows, const QRectF &area, double labelWidth, double valueWidth, double rowHeight);
    QRectF labelRect(int row) const;
    QRectF barTrack(int row) const;                 // the whole track of a row
    QRectF bar(int row, double share) const;        // filled to share ∈ [0, 1] of the track
    double tickX(int row, double share) const;      // the x of a share along the track
    QRectF valueRect(int row) const;
    int rows() const { return m_rows; }

private:
    int m_rows;
    QRectF m_area;
    double m_labelWidth, m_valueWidth, m_rowHeight;
};

PredictionLayout predictionLayout(const PredictionFigure &figure, const QRectF &area, const QFont &font);
// "31.2 %  · model 24.0 % · logit 5.21"
QString predictionValueText(const PredictionRow &row);
void paintPredictionFigure(QPainter &painter, const QRectF &area, const PredictionFigure &figure, const QFont &font);
QSizeF preferredPredictionSize(const PredictionFigure &figure, const QFont &font);

} // namespace studio

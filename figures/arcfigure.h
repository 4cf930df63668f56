#pragma once

#include "tensor.h"

#include <QColor>
#include <QFont>
#include <QList>
#include <QPointF>
#include <QRectF>
#include <QStringList>

#include <vector>

class QPainter;

namespace studio {

// One line of the head view: query token → key token in one head.
struct ArcLine {
    int query;
    int key;
    int head;
    float weight;
};

// Which lines to draw: per head and query, the keys with weight ≥ threshold, and of those only the
// topK strongest when topK > 0. hidden counts the non-zero pairs left out.
struct ArcPruning {
    float threshold = 0.01f;
    int topK = 0;
};
std::vector<ArcLine> pruneArcs(const std::vector<Matrix> &weights, const QList<int> &heads,
                               const ArcPruning &pruning, int *hidden);

// The outcome of pruning, kept by a view so that repaints and hovers do not prune again.
struct PrunedArcs {
    std::vector<ArcLine> lines; // weakest first
    int hidden = 0;
};

// Where the two token columns go: queries on the left, keys on the right, one row per token. Rows
// are as tall as the longer column needs; the shorter column (cross-attention's) is centred.
struct ArcLayout {
    ArcLayout(int tokenCount, const QRectF &area, double labelWidth, double captionHeight);
    ArcLayout(int queryCount, int keyCount, const QRectF &area, double labelWidth, double captionHeight);
    QRectF leftLabel(int token) const;
    QRectF rightLabel(int token) const;
    QPointF leftAnchor(int token) const;  // where a query's lines start
    QPointF rightAnchor(int token) const; // where a key's lines end
    // The token under a point: ≥ 0 with *left telling the column, or −1.
    int tokenAt(const QPointF &point, bool *left) const;
    double rowHeight() const { return m_row; }
    QRectF linesArea() const { return m_lines; }
    QRectF captionRect() const { return m_caption; }

private:
    int m_count;     // queries
    int m_keyCount;  // keys
    double m_row = 0;
    double m_top = 0;      // the queries' first row
    double m_keyTop = 0;   // the keys' first row
    QRectF m_left, m_right, m_lines, m_caption;
};

// A head colour from a qualitative, colour-blind-friendly palette (Okabe–Ito), cycling.
QColor headColor(int head);
// A colour at opacity `alpha` pre-blended onto white: drawing it opaque looks the same as alpha
// blending and is several times faster.
QRgb blendOnWhite(QColor color, double alpha);

struct ArcFigure {
    QStringList labels;          // the queries (left)
    QStringList keyLabels;       // the keys (right) where they differ (cross-attention: the source); empty = labels
    QString sidesText;           // what the two columns are, for the caption; empty = queries and keys
    const QStringList &rightLabels() const { return keyLabels.isEmpty() ? labels : keyLabels; }
    // One layer's heads (T, T) each, shared with the result, not copied. Never null.
    std::shared_ptr<const std::vector<Matrix>> weights = std::make_shared<const std::vector<Matrix>>();
    QList<int> heads;            // indices into weights that are switched on
    ArcPruning pruning;
    int focusToken = -1;         // show only this token's lines
    bool focusIsQuery = true;
    int hiddenQuery = -1;        // a query whose lines stay hidden until revealed (the class predicts first)
    QStringList headLabels;      // per head index, for the legend ("head 0 · Previous token")
    QStringList caption;
    bool showCaption = true;     // on screen the window says it all already: legend only
};

// Where everything of this figure goes in the area (the painter's layout, for hit-testing too).
ArcLayout arcFigureLayout(const ArcFigure &figure, const QRectF &area, const QFont &font);

// The legend's entries: a colour and a label for each head switched on.
QList<std::pair<QColor, QString>> arcLegend(const ArcFigure &figure);

// Paints the whole figure, pruning it first unless `pruned` (of the same figure) is given.
// Returns the number of lines pruned away.
int paintArcFigure(QPainter &painter, const QRectF &area, const ArcFigure &figure, const QFont &font,
                   const PrunedArcs *pruned = nullptr);
QSizeF preferredArcSize(const ArcFigure &figure, const QFont &font);

} // namespace studio

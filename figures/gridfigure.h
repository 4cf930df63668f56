#pragma once

#include "attention.h"
#include "colormap.h"

#include <QFont>
#include <QFontMetricsF>
#include <QImage>
#include <QRectF>
#include <QStringList>

#include <optional>
#include <vector>

class QPainter;

namespace studio {

// The model view: one small heatmap per layer × head, then the mean and the max over the layer's
// heads. Column index heads is the mean, heads + 1 the max.
struct GridLayout {
    GridLayout(int layers, int heads, const QRectF &area, double rowLabelWidth, double headerHeight, double captionHeight);
    int columns() const { return m_heads + 2; }
    QRectF cell(int layer, int column) const; // the thumbnail's square
    QRectF columnHeader(int column) const;
    QRectF rowHeader(int layer) const;
    QRectF captionRect() const { return m_caption; }
    std::optional<std::pair<int, int>> cellAt(const QPointF &point) const; // (layer, column)
    double side() const { return m_side; }
    // The bar along a head's bottom edge whose length is the head's first-token share (0..1).
    QRectF firstTokenBar(int layer, int column, double share) const;
    // The bar along a head's top edge whose length is its divergence between two sentences,
    // relative to the largest (0..1).
    QRectF divergenceBar(int layer, int column, double relative) const;

private:
    int m_layers;
    int m_heads;
    double m_side = 0;
    double m_gap = 4;
    QPointF m_origin;
    double m_rowLabelWidth;
    double m_headerHeight;
    QRectF m_caption;
};

// After the heads, each layer's row has three aggregate columns: the mean and the max over its
// heads, and the attention rollout up to that layer (computed up to kGridRolloutTokens tokens).
inline constexpr int kGridAggregateColumns = 3;
inline constexpr int kGridRolloutTokens = 128;

struct GridFigure {
    SharedAttentionMaps weights = std::make_shared<const AttentionMaps>(); // shared with the result; never null
    ColorMapKind colorMap = ColorMapKind::Viridis;
    int selectedLayer = -1;
    int selectedHead = -1; // a column; heads = mean, heads + 1 = max, heads + 2 = rollout
    int kvHeads = 0;       // grouped heads: each header also names its key/value head; 0 = one per head
    // Per [layer][head]: the share of attention to the first token (the attention sink), drawn as
    // a bar along each head's bottom edge; empty = not drawn.
    std::vector<std::vector<double>> firstTokenShares;
    // Per [layer][head]: the divergence between two sentences relative to the largest (0..1), drawn
    // as a bar along each head's top edge; empty = no comparison.
    std::vector<std::vector<double>> divergence;
    QStringList caption;
    // Per row, where the rows are not one model's layers in order (a translation model's three
    // kinds of attention one after another): its title, and the kind (as an int) and layer it
    // shows. Empty = "layer N". The rollout starts afresh where the kind changes, and is left out
    // for maps that are not square (cross-attention).
    QStringList rowTitles;
    std::vector<std::pair<int, int>> rowSources;
    QString rowTitle(int row) const;
};

// The width of the row titles' column.
double gridRowTitleWidth(const GridFigure &figure, const QFontMetricsF &metrics);
// The header's height: one line, or two when heads are grouped (head, then its key/value head).
double gridHeaderHeight(const GridFigure &figure, const QFontMetricsF &metrics);
// "head 3", and "kv 1" beneath it for grouped heads; "mean", "max", "rollout" for the aggregate columns.
QStringList gridColumnTitle(const GridFigure &figure, int column, int heads);

// A matrix shrunk to at most size × size cells by block maxima (unchanged when small enough).
Matrix thumbnailValues(const Matrix &weights, int size);
// Thumbnails, one pixel per cell (per block of cells beyond 128 tokens), for [layer][column]
// including mean, max and rollout (grey beyond kGridRolloutTokens: its cost grows with T³).
std::vector<std::vector<QImage>> gridThumbnails(const GridFigure &figure);
// The side, in pixels, a thumbnail is enlarged to (at most) in SVG and PDF: see enlargedCells().
inline constexpr int kSharpThumbnailPixels = 512;
void paintGridFigure(QPainter &painter, const QRectF &area, const GridFigure &figure, const QFont &font,
                     const std::vector<std::vector<QImage>> &thumbnails);
QSizeF preferredGridSize(const GridFigure &figure, const QFont &font);

} // namespace studio

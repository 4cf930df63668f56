#pragma once

#include "colormap.h"
#include "heatmaplayout.h"
#include "tensor.h"

#include <QFont>
#include <QImage>
#include <QStringList>

#include <memory>
#include <vector>

class QPainter;

namespace studio {

// What one heatmap shows: a matrix with row (query) and column (key) labels, a colour scale and a
// caption. Cells equal to −∞ are masked and drawn hatched grey.
struct HeatmapFigure {
    QStringList rowLabels;
    QStringList colLabels;
    // What the rows and the columns are ("query", "key"), written along the labels; empty: none.
    QString rowTitle;
    QString colTitle;
    // The matrix shown (rows, cols), shared with the result or head details it comes from, not copied.
    std::shared_ptr<const Matrix> data;
    const Matrix &values() const;
    void setValues(Matrix values); // a matrix of the figure's own
    ColorMapKind colorMap = ColorMapKind::Viridis;
    ColorScale scale;
    QString scaleLabel = QStringLiteral("attention weight");
    QStringList caption; // lines below the figure
    bool showNumbers = false;
    // Decimals of the numbers in cells; −1 picks a compact format per value (for unbounded stages).
    int cellDecimals = -1;
    int selectedRow = -1;
    int selectedCol = -1; // with selectedRow: one cell outlined (the selected query's key)
    // The masked stage behind weights (−∞ where a key is hidden from a query), shared: masked
    // cells are hatched and carry no number, so an exact 0 from the mask never reads as a real 0.
    std::shared_ptr<const Matrix> maskedFrom;
    bool cellMasked(int row, int col) const;
    // A row whose values stay hidden (drawn grey with a "?"), so a class predicts them first.
    // Hidden in every output: the colours and numbers of that row never reach the image or file.
    int hiddenRow = -1;
    // Tokens left out by a display transform (special tokens): their rows and columns are drawn
    // grey with no number. Empty = none; else one flag per row (square token × token figures).
    std::vector<bool> leftOut;
    // Whether a cell is drawn grey without its value: its row is hidden, or its token left out.
    bool cellGrey(int row, int col) const;
    // Draw one vector rectangle per cell instead of one scaled image; for vector export of small
    // matrices. Large matrices always go through the image.
    bool vectorCells = false;
};

// Fonts and sizes for one rendering.
struct HeatmapStyle {
    QFont font;
    double labelWidth = 90;
    double maxCellAspect = 1; // cells may be this much wider than high (see HeatmapLayout::Margins)
};

// Largest matrix drawn cell by cell in vector exports; above it the body is one embedded image.
inline constexpr int kVectorCellLimit = 64;

HeatmapLayout::Margins heatmapMargins(const HeatmapFigure &figure, const HeatmapStyle &style);
// The font of the numbers in cells, and whether the painter writes every cell's number in area
// (numbers that do not fit are left out, never overlapped).
QFont cellNumberFont(const HeatmapStyle &style);
bool everyNumberDrawn(const HeatmapFigure &figure, const HeatmapStyle &style, const QRectF &area);
// A size in which every cell is at least readable for the figure's token count.
QSizeF preferredHeatmapSize(const HeatmapFigure &figure, const HeatmapStyle &style);
// The T×T body as an image, one pixel a cell, coloured through the lookup table.
QImage heatmapBodyImage(const HeatmapFigure &figure);
// An image of one pixel per cell enlarged by a whole factor (each cell a block of equal pixels, up
// to about `side` pixels and 64 per cell), for SVG and PDF: viewers smooth embedded images, which
// would blur neighbouring cells into one smear. A failed allocation returns the image as it was.
QImage enlargedCells(const QImage &image, int side);
// Whether the painter writes a vector file (SVG, PDF, a picture): there images go in enlarged.
// Windows and images are pixels already: enlarging for them would only cost time every frame.
bool paintsVectors(const QPainter &painter);
// The side a heatmap body is enlarged to in SVG and PDF.
inline constexpr int kSharpBodyPixels = 2048;
// What a view can compute once per data change instead of once per frame.
struct HeatmapCache {
    QImage body;                     // heatmapBodyImage(figure)
    HeatmapLayout::Margins margins;  // heatmapMargins(figure, style)
};
HeatmapCache heatmapCache(const HeatmapFigure &figure, const HeatmapStyle &style);

void paintHeatmapFigure(QPainter &painter, const QRectF &area, const HeatmapFigure &figure,
                        const HeatmapStyle &style, const HeatmapCache *cache = nullptr);
// The figure as a view exports it: one vector rectangle per cell on SVG and PDF devices (up to
// kVectorCellLimit), one image on raster ones.
void paintHeatmapForDevice(QPainter &painter, const QRectF &area, const HeatmapFigure &figure, const HeatmapStyle &style);

// A cell as a vector export draws it: reaching overlap under its right and lower neighbours (not
// past the matrix), so that viewers show no hairline seams between cells.
QRectF vectorCellRect(const HeatmapLayout &layout, int row, int col, double overlap);

// The rows that get a label when only every stride-th fits: those, except that the selected row
// always has its label and the labels within a stride of it give way.
QList<int> labelledRows(int rows, int stride, int selectedRow);

// The colour of a hidden row's cells.
inline constexpr QRgb kHiddenCellColor = 0xffd9d9d9;

// Lightness of a colour (0..1, Rec. 709 luma) to pick readable text on top of it.
double luma(QRgb color);
// "0.42", "1.0e-05", "−3.1": short and exact enough to read in a cell. decimals ≥ 0 forces a
// fixed number of decimals (weights in [0, 1] read best as 0.00 .. 1.00).
QString formatCellValue(double value, int decimals = -1);
// A masked cell (−∞ before the softmax): hatched, never numbered.
bool isMasked(float value);


} // namespace studio

#pragma once

#include <QRectF>
#include <QSizeF>

#include <optional>

namespace studio {

struct HeatmapCell {
    int row = -1; // query
    int col = -1; // key
    friend bool operator==(const HeatmapCell &, const HeatmapCell &) = default;
};

// Where everything of a heatmap figure goes inside a given area: cells (rows × columns, for
// attention: queries × keys), a left margin for row labels, a top margin for column labels, a colour
// bar at the right and a caption band at the bottom. Plain geometry, no painting.
struct HeatmapLayout {
    struct Margins {
        double rowLabels = 80;  // width of the query-label column
        double colLabels = 80;  // height of the key-label band
        double colorBar = 70;   // width of the colour bar and its numbers
        double caption = 0;     // height of the caption band
        double padding = 8;
        // How much wider than high a cell may grow to fill a wide area (1: square cells, as in
        // exported figures; a view on screen may use its width for numbers).
        double maxCellAspect = 1;
        // Column labels as short as "x15" are written level, one line high; longer ones at 45°.
        bool levelColLabels = false;
        double colLabelLength = 80; // the longest column label's length, as drawn
        double rowTitle = 0;        // width of the strip left of the row labels for their title
        double colTitle = 0;        // height of the band above the column labels for their title
    };

    HeatmapLayout(int rows, int cols, const QRectF &area, const Margins &margins);

    int rows() const { return m_rows; }
    int cols() const { return m_cols; }
    double cellSize() const { return m_cellHeight; } // the height; the width is never less
    double cellWidth() const { return m_cellWidth; }
    double cellHeight() const { return m_cellHeight; }
    QRectF body() const { return m_body; }          // all cells
    QRectF cellRect(int row, int col) const;
    QRectF rowLabelRect(int row) const;             // left of the row, right-aligned text
    QRectF rowTitleRect() const;                    // the strip for the rows' title, beside the labels
    QRectF colTitleRect() const;                    // the band for the columns' title, above the labels
    QRectF colLabelAnchor(int col) const;           // above the column, for rotated text
    QRectF colorBarRect() const { return m_colorBar; }
    const Margins &margins() const { return m_margins; }
    QRectF captionRect() const { return m_caption; }
    // The cell under a point, if any.
    std::optional<HeatmapCell> cellAt(const QPointF &point) const;

private:
    int m_rows;
    int m_cols;
    double m_cellWidth = 0;
    double m_cellHeight = 0;
    QRectF m_body;
    QRectF m_colorBar;
    QRectF m_caption;
    Margins m_margins;
};

} // namespace studio

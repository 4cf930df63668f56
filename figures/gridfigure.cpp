#include "gridfigure.h"

#include "aggregation.h"
#include "attention.h"
#include "heatmapfigure.h"

#include <QFontMetricsF>
#include <QObject>
#include <QPainter>

#include <algorithm>
#include <cmath>

namespace studio {

GridLayout::GridLayout(int layers, int heads, const QRectF &area, double rowLabelWidth, double headerHeight, double captionHeight)
    : m_layers(std::max(layers, 0)), m_heads(std::max(heads, 0)), m_rowLabelWidth(rowLabelWidth), m_headerHeight(headerHeight)
{
    const double width = area.width() - rowLabelWidth - 16;
    const double height = area.height() - headerHeight - captionHeight - 16;
    const int columns = m_heads + kGridAggregateColumns;
    // The aggregate columns sit after a wider gap, so they read as a separate group.
    const double extraGap = 3 * m_gap;
    const double byWidth = (width - extraGap) / columns - m_gap;
    const double byHeight = m_layers > 0 ? height / m_layers - m_gap : 0;
    m_side = std::max(0.0, std::min(byWidth, byHeight));
    m_origin = QPointF(area.left() + 8 + rowLabelWidth, area.top() + 8 + headerHeight);
    m_caption = QRectF(area.left() + 8, m_origin.y() + m_layers * (m_side + m_gap) + 4, area.width() - 16, captionHeight);
}

QRectF GridLayout::cell(int layer, int column) const
{
    const double x = m_origin.x() + column * (m_side + m_gap) + (column >= m_heads ? 3 * m_gap : 0);
    return QRectF(x, m_origin.y() + layer * (m_side + m_gap), m_side, m_side);
}

QRectF GridLayout::columnHeader(int column) const
{
    const QRectF c = cell(0, column);
    return QRectF(c.left() - m_gap, c.top() - m_headerHeight, c.width() + 2 * m_gap, m_headerHeight);
}

QRectF GridLayout::rowHeader(int layer) const
{
    const QRectF c = cell(layer, 0);
    return QRectF(c.left() - m_rowLabelWidth - m_gap, c.top(), m_rowLabelWidth, c.height());
}

QRectF GridLayout::firstTokenBar(int layer, int column, double share) const
{
    const QRectF c = cell(layer, column);
    const double height = std::max(3.0, c.height() * 0.08);
    return QRectF(c.left(), c.bottom() - height, c.width() * std::clamp(std::isfinite(share) ? share : 0.0, 0.0, 1.0), height);
}

QRectF GridLayout::divergenceBar(int layer, int column, double relative) const
{
    const QRectF c = cell(layer, column);
    const double height = std::max(3.0, c.height() * 0.08);
    return QRectF(c.left(), c.top(), c.width() * std::clamp(std::isfinite(relative) ? relative : 0.0, 0.0, 1.0), height);
}

double gridRowTitleWidth(const GridFigure &figure, const QFontMetricsF &metrics)
{
    double widest = metrics.horizontalAdvance(QStringLiteral("layer 00"));
    for (const QString &title : figure.rowTitles)
        widest = std::max(widest, metrics.horizontalAdvance(title));
    return widest + 6;
}

QString GridFigure::rowTitle(int row) const
{
    return row >= 0 && row < rowTitles.size() ? rowTitles.at(row) : QObject::tr("layer %1").arg(row);
}

double gridHeaderHeight(const GridFigure &figure, const QFontMetricsF &metrics)
{
    const int heads = figure.weights->empty() ? 0 : int(figure.weights->front().size());
    const bool grouped = figure.kvHeads > 0 && figure.kvHeads < heads;
    return (grouped ? 2 * metrics.lineSpacing() : metrics.height()) + 6;
}

QStringList gridColumnTitle(const GridFigure &figure, int column, int heads)
{
    if (column == heads)
        return {QObject::tr("mean")};
    if (column == heads + 1)
        return {QObject::tr("max")};
    if (column == heads + 2)
        return {QObject::tr("rollout")};
    QStringList lines{QObject::tr("head %1").arg(column)};
    if (figure.kvHeads > 0 && figure.kvHeads < heads)
        lines.append(QObject::tr("kv %1").arg(column / (heads / figure.kvHeads)));
    return lines;
}

std::optional<std::pair<int, int>> GridLayout::cellAt(const QPointF &point) const
{
    for (int layer = 0; layer < m_layers; ++layer)
        for (int column = 0; column < m_heads + kGridAggregateColumns; ++column)
            if (cell(layer, column).contains(point))
                return std::pair(layer, column);
    return std::nullopt;
}

Matrix thumbnailValues(const Matrix &weights, int size)
{
    const int tokens = int(std::max(weights.rows(), weights.cols()));
    if (tokens <= size)
        return weights;
    // Block maximum: a thin pattern (a diagonal, one strong key) stays visible when shrunk.
    const int block = (tokens + size - 1) / size;
    const int rows = int((weights.rows() + block - 1) / block);
    const int cols = int((weights.cols() + block - 1) / block);
    Matrix small(rows, cols);
    for (int r = 0; r < rows; ++r) {
        const Eigen::Index top = Eigen::Index(r) * block;
        const Eigen::Index height = std::min<Eigen::Index>(block, weights.rows() - top);
        for (int c = 0; c < cols; ++c) {
            const Eigen::Index left = Eigen::Index(c) * block;
            small(r, c) = weights.block(top, left, height, std::min<Eigen::Index>(block, weights.cols() - left)).maxCoeff();
        }
    }
    return small;
}

std::vector<std::vector<QImage>> gridThumbnails(const GridFigure &figure)
{
    constexpr int kThumbnailCells = 128; // a thumbnail is drawn a few dozen pixels wide
    std::vector<std::vector<QImage>> images;
    Matrix rollout; // (T, T): the rollout up to the layer before
    for (size_t r = 0; r < figure.weights->size(); ++r) {
        const std::vector<Matrix> &layer = (*figure.weights)[r];
        if (r > 0 && r < figure.rowSources.size() && figure.rowSources[r].first != figure.rowSources[r - 1].first)
            rollout = Matrix(); // another kind of attention: its own rollout
        std::vector<QImage> row;
        HeatmapFigure cellFigure;
        cellFigure.colorMap = figure.colorMap;
        cellFigure.scale = {0.0, 1.0};
        for (const Matrix &w : layer) {
            // Small matrices are drawn as they are, shared with the result; large ones shrunk.
            if (w.rows() <= kThumbnailCells && w.cols() <= kThumbnailCells)
                cellFigure.data = std::shared_ptr<const Matrix>(figure.weights, &w);
            else
                cellFigure.setValues(thumbnailValues(w, kThumbnailCells));
            row.push_back(heatmapBodyImage(cellFigure));
        }
        cellFigure.setValues(thumbnailValues(meanOverHeads(layer), kThumbnailCells));
        row.push_back(heatmapBodyImage(cellFigure));
        cellFigure.setValues(thumbnailValues(maxOverHeads(layer), kThumbnailCells));
        row.push_back(heatmapBodyImage(cellFigure));
        if (!layer.empty() && layer.front().rows() <= kGridRolloutTokens && layer.front().rows() == layer.front().cols()) {
            rollout = rolloutStep(rollout, layer);
            cellFigure.setValues(rollout);
            row.push_back(heatmapBodyImage(cellFigure));
        } else {
            QImage none(1, 1, QImage::Format_RGB32);
            none.fill(QColor(220, 220, 220));
            row.push_back(none);
        }
        images.push_back(std::move(row));
    }
    return images;
}

QSizeF preferredGridSize(const GridFigure &figure, const QFont &font)
{
    const QFontMetricsF metrics(font);
    const int layers = int(figure.weights->size());
    const int heads = layers > 0 ? int(figure.weights->front().size()) : 0;
    const double side = std::clamp(900.0 / std::max(heads + kGridAggregateColumns, 1), 40.0, 160.0);
    return {gridRowTitleWidth(figure, metrics) + 34 + (heads + kGridAggregateColumns) * (side + 4) + 12,
            gridHeaderHeight(figure, metrics) + metrics.height() + 34 + layers * (side + 4) + metrics.lineSpacing() * (figure.caption.size() + 1)};
}

void paintGridFigure(QPainter &painter, const QRectF &area, const GridFigure &figure, const QFont &font,
                     const std::vector<std::vector<QImage>> &thumbnails)
{
    // SVG and PDF viewers smooth embedded images, blurring a few cells into one smear: there the
    // thumbnails go in already enlarged, each cell a block of pixels.
    const bool vectorDevice = paintsVectors(painter);
    painter.save();
    painter.setFont(font);
    painter.fillRect(area, Qt::white);
    const QFontMetricsF metrics(font);
    const int layers = int(figure.weights->size());
    const int heads = layers > 0 ? int(figure.weights->front().size()) : 0;
    const GridLayout layout(layers, heads, area, gridRowTitleWidth(figure, metrics),
                            gridHeaderHeight(figure, metrics), metrics.lineSpacing() * figure.caption.size() + 4);
    painter.setRenderHint(QPainter::SmoothPixmapTransform, false);
    painter.setPen(Qt::black);
    for (int column = 0; column < heads + kGridAggregateColumns; ++column) {
        QStringList lines;
        for (const QString &line : gridColumnTitle(figure, column, heads))
            lines.append(metrics.elidedText(line, Qt::ElideRight, layout.columnHeader(column).width()));
        painter.drawText(layout.columnHeader(column), Qt::AlignHCenter | Qt::AlignBottom, lines.join(QLatin1Char('\n')));
    }
    for (int layer = 0; layer < layers; ++layer) {
        painter.setPen(Qt::black); // not the previous row's cell outline
        painter.drawText(layout.rowHeader(layer), Qt::AlignRight | Qt::AlignVCenter, figure.rowTitle(layer));
        for (int column = 0; column < heads + kGridAggregateColumns; ++column) {
            const QRectF cell = layout.cell(layer, column);
            if (layer < int(thumbnails.size()) && column < int(thumbnails[size_t(layer)].size()))
                painter.drawImage(cell, vectorDevice ? enlargedCells(thumbnails[size_t(layer)][size_t(column)], kSharpThumbnailPixels)
                                                     : thumbnails[size_t(layer)][size_t(column)]);
            if (column < heads && layer < int(figure.firstTokenShares.size()) && column < int(figure.firstTokenShares[size_t(layer)].size())) {
                // The attention sink: how much of the head's attention lands on the first token.
                const QRectF bar = layout.firstTokenBar(layer, column, figure.firstTokenShares[size_t(layer)][size_t(column)]);
                painter.fillRect(QRectF(cell.left(), bar.top(), cell.width(), bar.height()), QColor(255, 255, 255, 200));
                painter.fillRect(bar, QColor(230, 120, 20));
            }
            if (column < heads && layer < int(figure.divergence.size()) && column < int(figure.divergence[size_t(layer)].size())) {
                // How much the head changes between the two sentences compared.
                const QRectF bar = layout.divergenceBar(layer, column, figure.divergence[size_t(layer)][size_t(column)]);
                painter.fillRect(QRectF(cell.left(), bar.top(), cell.width(), bar.height()), QColor(255, 255, 255, 200));
                painter.fillRect(bar, QColor(200, 20, 120));
            }
            const bool selected = layer == figure.selectedLayer && column == figure.selectedHead;
            painter.setPen(selected ? QPen(QColor(230, 60, 20), 3) : QPen(QColor(160, 160, 160), 0.5));
            painter.drawRect(cell);
        }
    }
    painter.setPen(Qt::black);
    double y = layout.captionRect().top();
    for (const QString &line : figure.caption) {
        painter.drawText(QRectF(layout.captionRect().left(), y, layout.captionRect().width(), metrics.height()),
                         Qt::AlignLeft | Qt::AlignVCenter, metrics.elidedText(line, Qt::ElideRight, layout.captionRect().width()));
        y += metrics.lineSpacing();
    }
    painter.restore();
}

} // namespace studio

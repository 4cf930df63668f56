#include "heatmaplayout.h"

#include <algorithm>
#include <cmath>

namespace studio {

HeatmapLayout::HeatmapLayout(int rows, int cols, const QRectF &area, const Margins &margins)
    : m_rows(std::max(rows, 0)), m_cols(std::max(cols, 0)), m_margins(margins)
{
    const double p = margins.padding;
    const double availableWidth = std::max(0.0, area.width() - margins.rowTitle - margins.rowLabels - margins.colorBar - 3 * p);
    const double availableHeight = std::max(0.0, area.height() - margins.colTitle - margins.colLabels - margins.caption - 3 * p);
    m_cellHeight = m_rows > 0 && m_cols > 0 ? std::min(availableWidth / m_cols, availableHeight / m_rows) : 0.0;
    m_cellWidth = m_cols > 0 ? std::clamp(availableWidth / m_cols, m_cellHeight, m_cellHeight * std::max(1.0, margins.maxCellAspect)) : 0.0;
    m_body = QRectF(area.left() + p + margins.rowTitle + margins.rowLabels, area.top() + p + margins.colTitle + margins.colLabels,
                    m_cellWidth * m_cols, m_cellHeight * m_rows);
    m_colorBar = QRectF(m_body.right() + p, m_body.top(), margins.colorBar, std::max(m_body.height(), 1.0));
    m_caption = QRectF(area.left() + p, m_body.bottom() + p, area.width() - 2 * p, margins.caption);
}

QRectF HeatmapLayout::cellRect(int row, int col) const
{
    return QRectF(m_body.left() + col * m_cellWidth, m_body.top() + row * m_cellHeight, m_cellWidth, m_cellHeight);
}

QRectF HeatmapLayout::rowLabelRect(int row) const
{
    return QRectF(m_body.left() - m_margins.rowLabels - m_margins.padding / 2, m_body.top() + row * m_cellHeight,
                  m_margins.rowLabels, m_cellHeight);
}

QRectF HeatmapLayout::rowTitleRect() const
{
    return QRectF(m_body.left() - m_margins.rowLabels - m_margins.padding / 2 - m_margins.rowTitle, m_body.top(),
                  m_margins.rowTitle, m_body.height());
}

QRectF HeatmapLayout::colTitleRect() const
{
    return QRectF(m_body.left(), m_body.top() - m_margins.colLabels - m_margins.padding / 2 - m_margins.colTitle,
                  m_body.width(), m_margins.colTitle);
}

QRectF HeatmapLayout::colLabelAnchor(int col) const
{
    return QRectF(m_body.left() + col * m_cellWidth, m_body.top() - m_margins.colLabels - m_margins.padding / 2,
                  m_cellWidth, m_margins.colLabels);
}

std::optional<HeatmapCell> HeatmapLayout::cellAt(const QPointF &point) const
{
    if (m_rows == 0 || m_cols == 0 || m_cellHeight <= 0 || !m_body.contains(point))
        return std::nullopt;
    const int col = std::min(int(std::floor((point.x() - m_body.left()) / m_cellWidth)), m_cols - 1);
    const int row = std::min(int(std::floor((point.y() - m_body.top()) / m_cellHeight)), m_rows - 1);
    if (row < 0 || col < 0)
        return std::nullopt;
    return HeatmapCell{row, col};
}

} // namespace studio

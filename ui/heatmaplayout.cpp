#include "heatmaplayout.h"

#include <algorithm>
#include <cmath>

namespace studio {

HeatmapLayout::HeatmapLayout(int tokenCount, const QRectF &area, const Margins &margins)
    : m_count(std::max(tokenCount, 0)), m_margins(margins)
{
    const double p = margins.padding;
    const double availableWidth = area.width() - margins.rowLabels - margins.colorBar - 3 * p;
    const double availableHeight = area.height() - margins.colLabels - margins.caption - 3 * p;
    const double side = std::max(0.0, std::min(availableWidth, availableHeight));
    m_cell = m_count > 0 ? side / m_count : 0.0;
    const double bodySide = m_cell * m_count;
    m_body = QRectF(area.left() + p + margins.rowLabels, area.top() + p + margins.colLabels, bodySide, bodySide);
    m_colorBar = QRectF(m_body.right() + p, m_body.top(), margins.colorBar, std::max(bodySide, 1.0));
    m_caption = QRectF(area.left() + p, m_body.bottom() + p, area.width() - 2 * p, margins.caption);
}

QRectF HeatmapLayout::cellRect(int row, int col) const
{
    return QRectF(m_body.left() + col * m_cell, m_body.top() + row * m_cell, m_cell, m_cell);
}

QRectF HeatmapLayout::rowLabelRect(int row) const
{
    return QRectF(m_body.left() - m_margins.rowLabels - m_margins.padding / 2, m_body.top() + row * m_cell,
                  m_margins.rowLabels, m_cell);
}

QRectF HeatmapLayout::colLabelAnchor(int col) const
{
    return QRectF(m_body.left() + col * m_cell, m_body.top() - m_margins.colLabels - m_margins.padding / 2,
                  m_cell, m_margins.colLabels);
}

std::optional<HeatmapCell> HeatmapLayout::cellAt(const QPointF &point) const
{
    if (m_count == 0 || m_cell <= 0 || !m_body.contains(point))
        return std::nullopt;
    const int col = std::min(int(std::floor((point.x() - m_body.left()) / m_cell)), m_count - 1);
    const int row = std::min(int(std::floor((point.y() - m_body.top()) / m_cell)), m_count - 1);
    if (row < 0 || col < 0)
        return std::nullopt;
    return HeatmapCell{row, col};
}

} // namespace studio

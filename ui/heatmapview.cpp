#include "heatmapview.h"

#include "attentiondocument.h"

#include <QHelpEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>

namespace studio {

HeatmapView::HeatmapView(AttentionDocument *document, QWidget *parent)
    : QWidget(parent), m_document(document)
{
    setMouseTracking(true);
    setToolTip(tr("Rows are queries, columns are keys. Click a row to select its query token."));
    connect(document, &AttentionDocument::traceChanged, this, &HeatmapView::rebuild);
    connect(document, &AttentionDocument::selectionChanged, this, &HeatmapView::rebuild);
    rebuild();
}

void HeatmapView::setStage(HeatmapStage stage)
{
    m_stage = stage;
    rebuild();
}

void HeatmapView::setColorMap(ColorMapKind kind)
{
    m_colorMap = kind;
    rebuild();
}

void HeatmapView::setShowNumbers(bool show)
{
    m_showNumbers = show;
    rebuild();
}

HeatmapStyle HeatmapView::style() const
{
    HeatmapStyle style;
    style.font = font();
    return style;
}

void HeatmapView::rebuild()
{
    const Workspace &workspace = m_document->workspace();
    const int head = m_document->selectedHead();
    if (head < int(workspace.heads.size())) {
        m_figure = teachingHeatmap(m_document->trace(), workspace.text, workspace.config,
                                   workspace.heads[size_t(head)], head, m_stage, m_colorMap);
    }
    m_figure.showNumbers = m_showNumbers;
    m_figure.selectedRow = m_document->selectedQuery();
    update();
}

HeatmapLayout HeatmapView::layout() const
{
    return HeatmapLayout(int(m_figure.values.rows()), int(m_figure.values.cols()), QRectF(rect()), heatmapMargins(m_figure, style()));
}

void HeatmapView::paintEvent(QPaintEvent *)
{
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    paintHeatmapFigure(painter, QRectF(rect()), m_figure, style());
}

void HeatmapView::mousePressEvent(QMouseEvent *event)
{
    if (const auto cell = layout().cellAt(event->position()))
        m_document->selectQuery(cell->row);
}

bool HeatmapView::event(QEvent *event)
{
    if (event->type() == QEvent::ToolTip) {
        const auto *help = static_cast<QHelpEvent *>(event);
        const auto cell = layout().cellAt(help->pos());
        if (cell && cell->row < m_figure.rowLabels.size() && cell->col < m_figure.colLabels.size()) {
            const float value = m_figure.values(cell->row, cell->col);
            QToolTip::showText(help->globalPos(),
                               tr("query “%1” (%2) → key “%3” (%4)\n%5 = %6")
                                   .arg(m_figure.rowLabels.at(cell->row)).arg(cell->row)
                                   .arg(m_figure.colLabels.at(cell->col)).arg(cell->col)
                                   .arg(heatmapStageName(m_stage), QString::number(value, 'g', 7)),
                               this);
            return true;
        }
    }
    return QWidget::event(event);
}

} // namespace studio

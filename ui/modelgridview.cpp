#include "modelgridview.h"

#include "attentiondocument.h"
#include "deferredrebuild.h"
#include "offthread.h"
#include "viewoptions.h"

#include <QFontMetricsF>
#include <QHelpEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>

namespace studio {

ModelGridView::ModelGridView(AttentionDocument *document, ViewOptions *options, QWidget *parent)
    : QWidget(parent), m_document(document), m_options(options)
{
    setToolTip(tr("Click a head to focus it in every view."));
    m_deferred = new DeferredRebuild(this, [this] { rebuild(m_thumbnailsStale); });
    auto stale = [this] {
        m_thumbnailsStale = true;
        m_deferred->request();
    };
    connect(document, &AttentionDocument::resultChanged, this, stale);
    connect(document, &AttentionDocument::headSelected, m_deferred, &DeferredRebuild::request);
    connect(options, &ViewOptions::changed, this, stale);
    connect(document, &AttentionDocument::comparisonChanged, m_deferred, &DeferredRebuild::request);
    rebuild(true);
}

void ModelGridView::rebuild(bool thumbnails)
{
    m_figure = gridFigure(m_document->result(), documentContext(*m_document), m_options->colorMap(),
                          m_document->selectedLayer(), m_document->selectedHead(), m_document->comparison().get());
    m_thumbnailsStale = false;
    if (thumbnails) {
        // Up to about a million cells in all the thumbnails take well under a frame: at once. Beyond
        // (144 heads of 512 tokens are 38 million) on a worker, from the shared result.
        constexpr double kSynchronousCells = 1e6;
        double cells = 0;
        for (const auto &layer : *m_figure.weights)
            for (const Matrix &w : layer)
                cells += double(w.size());
        const quint64 generation = ++m_thumbnailGeneration;
        if (cells <= kSynchronousCells) {
            m_thumbnails = gridThumbnails(m_figure);
            m_thumbnailsPending = false;
        } else {
            m_thumbnails.clear(); // never the last sentence's pictures under this one's labels
            m_thumbnailsPending = true;
            using Thumbnails = std::vector<std::vector<QImage>>;
            runOffThread<Thumbnails>(
                this, [figure = m_figure](QPromise<Thumbnails> &promise) { promise.addResult(gridThumbnails(figure)); },
                [this, generation](QFuture<Thumbnails> done) {
                    if (generation != m_thumbnailGeneration || done.resultCount() == 0)
                        return;
                    m_thumbnails = done.takeResult();
                    m_thumbnailsPending = false;
                    update();
                });
        }
    }
    update();
}

GridLayout ModelGridView::currentLayout() const
{
    const QFontMetricsF metrics(m_options->font());
    const int heads = m_figure.weights->empty() ? 0 : int(m_figure.weights->front().size());
    return GridLayout(int(m_figure.weights->size()), heads, QRectF(rect()), gridRowTitleWidth(m_figure, metrics), gridHeaderHeight(m_figure, metrics),
                      metrics.lineSpacing() * m_figure.caption.size() + 4);
}

void ModelGridView::updateFigure()
{
    m_deferred->flush();
    if (m_thumbnailsPending) { // an export waits for the thumbnails rather than leave cells blank
        ++m_thumbnailGeneration;
        m_thumbnails = gridThumbnails(m_figure);
        m_thumbnailsPending = false;
    }
}

QSizeF ModelGridView::figureSize() const
{
    return preferredGridSize(m_figure, m_options->font());
}

void ModelGridView::paintFigure(QPainter &painter, const QRectF &area) const
{
    paintGridFigure(painter, area, m_figure, m_options->font(), m_thumbnails);
}

void ModelGridView::paintEvent(QPaintEvent *)
{
    QPainter painter(this);
    paintGridFigure(painter, QRectF(rect()), m_figure, m_options->font(), m_thumbnails);
}

void ModelGridView::mousePressEvent(QMouseEvent *event)
{
    const auto cell = currentLayout().cellAt(event->position());
    if (!cell)
        return;
    // A translation model's rows are its three kinds of attention, one after another.
    if (size_t(cell->first) < m_figure.rowSources.size()) {
        const auto [kind, layer] = m_figure.rowSources[size_t(cell->first)];
        const int heads = int((*m_figure.weights)[size_t(cell->first)].size());
        m_document->selectAttentionKind(AttentionKind(kind));
        if (cell->second < heads)
            m_document->selectHead(layer, cell->second);
        return;
    }
    if (cell->second < m_document->result().heads)
        m_document->selectHead(cell->first, cell->second);
}

bool ModelGridView::event(QEvent *event)
{
    if (event->type() == QEvent::ToolTip) {
        const auto *help = static_cast<QHelpEvent *>(event);
        if (const auto cell = currentLayout().cellAt(help->pos())) {
            const int heads = int((*m_figure.weights)[size_t(cell->first)].size());
            const QString row = m_figure.rowTitle(cell->first);
            const QString what = cell->second < heads ? (m_figure.rowSources.empty() ? m_document->headName(cell->first, cell->second)
                                                                                      : tr("%1 · head %2").arg(row).arg(cell->second))
                                 : cell->second == heads ? tr("mean over the heads of %1").arg(row)
                                 : cell->second == heads + 1 ? tr("max over the heads of %1").arg(row)
                                 : tr("attention rollout up to %1: how much of each token there (row) comes from each input token (column);\n"
                                      "Â = ½·mean_h A + ½·I with rows renormalised, multiplied from layer 0 up").arg(row);
            QString text = what;
            if (const auto comparison = m_document->comparison(); comparison && cell->second < heads && comparison->hasHead(cell->first, cell->second))
                text += tr("\n%1 bits apart for “%2” (JSD over the aligned tokens)")
                            .arg(divergenceText(comparison->divergence[size_t(cell->first)][size_t(cell->second)].divergence))
                            .arg(comparison->textB.simplified());
            QToolTip::showText(help->globalPos(), text, this);
            return true;
        }
    }
    return QWidget::event(event);
}

} // namespace studio

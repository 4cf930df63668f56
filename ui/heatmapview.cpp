#include "heatmapview.h"

#include "aggregation.h"
#include "attentiondocument.h"
#include "flowjob.h"
#include "presenterfit.h"
#include "stepexplainer.h"
#include "viewoptions.h"

#include <QHelpEvent>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>

#include <cmath>

namespace studio {

HeatmapView::HeatmapView(AttentionDocument *document, ViewOptions *options, QWidget *parent)
    : QWidget(parent), m_document(document), m_options(options)
{
    setMouseTracking(true);
    setFocusPolicy(Qt::StrongFocus);
    setToolTip(tr("Rows are queries, columns are keys. Click a row to select its query; Ctrl+click a column to hide that key."));
    connect(document, &AttentionDocument::resultChanged, this, &HeatmapView::rebuild);
    connect(document, &AttentionDocument::headSelected, this, &HeatmapView::rebuild);
    connect(document, &AttentionDocument::querySelected, this, &HeatmapView::rebuild);
    connect(document, &AttentionDocument::sceneChanged, this, &HeatmapView::rebuild);
    connect(options, &ViewOptions::changed, this, &HeatmapView::rebuild);
    connect(document->flowJob(), &FlowJob::changed, this, [this] {
        if (m_stage == HeatmapStage::Flow)
            rebuild();
    });
    connect(document, &AttentionDocument::comparisonChanged, this, [this] {
        if (m_stage == HeatmapStage::Difference)
            rebuild();
    });
    rebuild();
}

void HeatmapView::setLeaveOutSpecial(bool on)
{
    m_leaveOutSpecial = on;
    rebuild();
}

void HeatmapView::setStage(HeatmapStage stage)
{
    m_stage = stage;
    rebuild();
}

HeatmapStyle HeatmapView::style() const
{
    HeatmapStyle style;
    style.font = m_options->font();
    return style;
}

HeatmapExtras HeatmapView::extras() const
{
    HeatmapExtras extras;
    extras.flow = m_document->flowJob()->flow();
    extras.leaveOutSpecial = m_leaveOutSpecial;
    extras.comparison = m_document->comparison();
    extras.rollout = m_rollout.second;
    return extras;
}

void HeatmapView::rebuild()
{
    // Flow is computed when it is first shown (a new result resets it), within the window's limit.
    if (m_stage == HeatmapStage::Flow)
        m_document->flowJob()->request();
    // Rollout once per result (all layers, T³ each), not on every click or change of layer.
    const SharedResult result = m_document->sharedResult();
    if (m_rollout.first != result)
        m_rollout = {result, nullptr};
    if (m_stage == HeatmapStage::Rollout && !m_rollout.second && heatmapUnavailableReason(*result, m_stage, {}).isEmpty())
        m_rollout.second = std::make_shared<const std::vector<Matrix>>(attentionRollout(*result->maps));
    const ColorMapKind colors = colorMapFor(heatmapValueKind(m_stage), m_options->colorMap());
    // A checkpoint's weights need no head details: they come straight from the result (no
    // recomputation of the head's stages).
    // (The teaching model's details are at hand: its weights get their mask, hatched.)
    static const HeadDetails none;
    const bool fromResult = m_stage != HeatmapStage::Scores && m_stage != HeatmapStage::Scaled && m_stage != HeatmapStage::Masked;
    // (the difference comes from the comparison, which holds both results)
    const HeadDetails &details = fromResult && !m_document->isTeaching() ? none : m_document->selectedDetails();
    m_figure = headHeatmap(m_document->result(), details, documentContext(*m_document), m_stage, colors,
                           m_document->selectedQuery(), extras());
    m_figure.showNumbers = m_options->showNumbers();
    m_screenStyle = fittedStyle(m_figure, style(), QSizeF(size()));
    m_cache = heatmapCache(m_figure, m_screenStyle);
    updateNumbersNote();
    update();
}

void HeatmapView::updateNumbersNote()
{
    // "Numbers in cells" is on but the cells are too small for some: say so, rather than let the
    // numbers vanish without a word.
    const QString note = m_figure.values().size() > 0 && !everyNumberDrawn(m_figure, m_screenStyle, QRectF(rect()))
                             ? tr("numbers that do not fit their cells are left out: enlarge the view, or present it (F5)")
                             : QString();
    if (note != m_numbersNote) {
        m_numbersNote = note;
        Q_EMIT numbersNoteChanged(note);
    }
}

void HeatmapView::resizeEvent(QResizeEvent *event)
{
    QWidget::resizeEvent(event);
    // On screen, labels are never thinned out or cut while a smaller font can show them all;
    // exports keep the chosen size (their figure is sized for it).
    m_screenStyle = fittedStyle(m_figure, style(), QSizeF(size()));
    m_cache.margins = heatmapMargins(m_figure, m_screenStyle);
    updateNumbersNote();
}

HeatmapLayout HeatmapView::currentLayout() const
{
    return HeatmapLayout(int(m_figure.values().rows()), int(m_figure.values().cols()), QRectF(rect()), m_cache.margins);
}

QSizeF HeatmapView::figureSize() const
{
    return preferredHeatmapSize(m_figure, style());
}

void HeatmapView::paintFigure(QPainter &painter, const QRectF &area) const
{
    paintHeatmapForDevice(painter, area, m_figure, style());
}

QString HeatmapView::placeholderText() const
{
    if (m_document->isBusy())
        return tr("Computing…");
    if (m_stage == HeatmapStage::Flow && !m_document->flowJob()->statusText().isEmpty())
        return m_document->flowJob()->statusText();
    if (const QString reason = heatmapUnavailableReason(m_document->result(), m_stage, extras()); !reason.isEmpty())
        return reason;
    if (const QString notice = m_document->result().notice; !notice.isEmpty() && m_document->tokenCount() == 0)
        return tr("Nothing to show: %1").arg(notice);
    return tr("Type a sentence to see its attention.");
}

void HeatmapView::paintEvent(QPaintEvent *)
{
    QPainter painter(this);
    if (m_figure.values().size() == 0) {
        painter.fillRect(rect(), Qt::white);
        // Why there is nothing to show, where the user looks: the run's notice when it has one
        // (a text the tokenizer refuses, a run too large), else the invitation to type.
        const bool problem = !m_document->isBusy() && !m_document->result().notice.isEmpty();
        painter.setPen(problem ? QColor(160, 30, 30) : palette().color(QPalette::PlaceholderText));
        painter.drawText(rect().adjusted(24, 24, -24, -24), Qt::AlignCenter | Qt::TextWordWrap, placeholderText());
        return;
    }
    painter.setRenderHint(QPainter::Antialiasing);
    paintHeatmapFigure(painter, QRectF(rect()), m_figure, m_screenStyle, &m_cache);
}

void HeatmapView::mousePressEvent(QMouseEvent *event)
{
    setFocus();
    const auto cell = currentLayout().cellAt(event->position());
    if (!cell)
        return;
    if (event->modifiers() & Qt::ControlModifier) {
        if (m_document->isTeaching())
            m_document->toggleMaskedKey(cell->col);
        return;
    }
    if (m_stage == HeatmapStage::Difference) { // rows and columns are aligned tokens: select the first sentence's
        const auto comparison = m_document->comparison();
        if (comparison && size_t(cell->row) < comparison->alignment.size() && size_t(cell->col) < comparison->alignment.size()) {
            m_document->selectQuery(comparison->alignment[size_t(cell->row)].first);
            m_document->selectKey(comparison->alignment[size_t(cell->col)].first);
        }
        return;
    }
    m_document->selectQuery(cell->row);
    m_document->selectKey(cell->col);
}

void HeatmapView::keyPressEvent(QKeyEvent *event)
{
    const int count = m_document->tokenCount();
    const int keys = m_document->result().keyCount();
    const int query = m_document->selectedQuery();
    switch (event->key()) {
    case Qt::Key_Up: m_document->selectQuery(std::max(0, query - 1)); break;
    case Qt::Key_Down: m_document->selectQuery(std::min(count - 1, query + 1)); break;
    case Qt::Key_Left: m_document->selectKey(std::max(0, m_document->selectedKey() - 1)); break;
    case Qt::Key_Right: m_document->selectKey(std::min(keys - 1, m_document->selectedKey() + 1)); break;
    case Qt::Key_Escape: m_document->selectQuery(-1); break;
    default: QWidget::keyPressEvent(event); return;
    }
}

namespace {

// The softmax of one cell with the row's own max and Σ written in: a number a learner can redo.
QString tooltipSoftmax(const HeadTrace &t, int row, int col, double tau)
{
    const SoftmaxRow parts = softmaxRow(t, row, tau);
    const double x = double(t.masked(row, col)) / tau;
    return QObject::tr("\n= exp(masked / τ − max) / Σ over the row\n= exp(%1 − %2) / %3 = %4")
        .arg(number(x), number(parts.max), number(parts.sum), number(std::exp(x - parts.max) / parts.sum));
}

} // namespace

QString HeatmapView::explain(int row, int col) const
{
    if (row == m_figure.hiddenRow)
        return tr("query “%1” (%2): its weights are hidden until revealed, to be predicted first")
            .arg(m_figure.rowLabels.value(row)).arg(row);
    if (m_figure.cellGrey(row, col))
        return tr("“%1” → “%2”: a special token, left out of the display (each row renormalised over the rest)")
            .arg(m_figure.rowLabels.value(row), m_figure.colLabels.value(col));
    const float value = m_figure.values()(row, col);
    switch (m_stage) {
    case HeatmapStage::Difference: {
        const auto comparison = m_document->comparison();
        if (!comparison || size_t(row) >= comparison->alignment.size() || size_t(col) >= comparison->alignment.size())
            return {};
        const auto [qa, qb] = comparison->alignment[size_t(row)];
        const auto [ka, kb] = comparison->alignment[size_t(col)];
        const int layer = m_document->selectedLayer(), head = m_document->selectedHead();
        return tr("query “%1” → key “%2”\nB − A = %3 − %4 = %5\n(A: this sentence, positions %6 → %7; B: the compared one, %8 → %9)")
            .arg(m_figure.rowLabels.value(row), m_figure.colLabels.value(col))
            .arg(double(comparison->b->weights(layer, head)(qb, kb)), 0, 'g', 5).arg(double(comparison->a->weights(layer, head)(qa, ka)), 0, 'g', 5)
            .arg(double(value), 0, 'g', 5).arg(qa).arg(ka).arg(qb).arg(kb);
    }
    case HeatmapStage::ValueWeighted: {
        const Matrix &weights = m_document->result().weights(m_document->selectedLayer(), m_document->selectedHead());
        const float alpha = row < weights.rows() && col < weights.cols() ? weights(row, col) : 0.0f;
        return tr("query “%1” (%2) → key “%3” (%4)\n‖α·f(x)‖ = %5\n= α %6 × ‖f(x_%4)‖ %7, the size of what “%3” adds through this head")
            .arg(m_figure.rowLabels.value(row)).arg(row).arg(m_figure.colLabels.value(col)).arg(col)
            .arg(value, 0, 'g', 5).arg(alpha, 0, 'g', 5).arg(alpha > 0 ? value / alpha : 0.0f, 0, 'g', 5);
    }
    case HeatmapStage::Rollout:
    case HeatmapStage::Flow:
        return tr("“%1” at layer %2 ← input token “%3” (%4)\n%5 = %6")
            .arg(m_figure.rowLabels.value(row)).arg(m_document->selectedLayer()).arg(m_figure.colLabels.value(col)).arg(col)
            .arg(heatmapStageName(m_stage), QString::number(value, 'g', 5));
    case HeatmapStage::Scores:
    case HeatmapStage::Scaled:
    case HeatmapStage::Masked:
    case HeatmapStage::Weights: break;
    }
    QString text = tr("query “%1” (%2) → key “%3” (%4)\n%5 = %6")
                       .arg(m_figure.rowLabels.value(row)).arg(row).arg(m_figure.colLabels.value(col)).arg(col)
                       .arg(heatmapStageName(m_stage), QString::number(value, 'g', 7));
    const HeadDetails &d = m_document->selectedDetails();
    const HeadTrace &t = d.trace;
    if (row >= t.scores.rows() || col >= t.scores.cols())
        return text;
    switch (m_stage) {
    case HeatmapStage::Scores:
        text += tr("\n= q_%1 · k_%2 (%3 terms)").arg(row).arg(col).arg(t.q.cols());
        break;
    case HeatmapStage::Scaled:
        text += tr("\n= score %1 / √%2").arg(t.scores(row, col), 0, 'g', 6).arg(t.q.cols());
        break;
    case HeatmapStage::Masked:
        text += std::isinf(t.masked(row, col)) ? tr("\nmasked: this key is hidden from this query") : tr("\nvisible: equal to the scaled score");
        break;
    case HeatmapStage::Weights:
        text += std::isinf(t.masked(row, col))
            ? tr("\nmasked key: weight exactly 0")
            : tooltipSoftmax(t, row, col, d.temperature);
        break;
    case HeatmapStage::ValueWeighted:
    case HeatmapStage::Rollout:
    case HeatmapStage::Flow:
    case HeatmapStage::Difference: break;
    }
    return text;
}

bool HeatmapView::event(QEvent *event)
{
    if (event->type() == QEvent::ToolTip) {
        const auto *help = static_cast<QHelpEvent *>(event);
        const auto cell = currentLayout().cellAt(help->pos());
        if (cell && cell->row < m_figure.rowLabels.size() && cell->col < m_figure.colLabels.size()) {
            QToolTip::showText(help->globalPos(), explain(cell->row, cell->col), this);
            return true;
        }
    }
    return QWidget::event(event);
}

} // namespace studio

#include "comparisonpanel.h"

#include "attentiondocument.h"
#include "deferredrebuild.h"
#include "presenterfit.h"
#include "viewoptions.h"

#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPainter>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace studio {

namespace {
constexpr int kListedHeads = 12;
constexpr double kSmallestReadableCell = 6; // pixels; below it the difference is not drawn here
} // namespace

ComparisonView::ComparisonView(AttentionDocument *document, ViewOptions *options, QWidget *parent)
    : QWidget(parent), m_document(document), m_options(options)
{
    setObjectName(QStringLiteral("comparisonView"));
    m_deferred = new DeferredRebuild(this, [this] { rebuild(); });
    for (auto signal : {&AttentionDocument::comparisonChanged, &AttentionDocument::headSelected, &AttentionDocument::querySelected})
        connect(document, signal, m_deferred, &DeferredRebuild::request);
    connect(options, &ViewOptions::changed, m_deferred, &DeferredRebuild::request);
    rebuild();
}

HeatmapStyle ComparisonView::style() const
{
    HeatmapStyle style;
    style.font = m_options->font();
    return style;
}

void ComparisonView::rebuild()
{
    const auto comparison = m_document->comparison();
    m_figure = comparison ? comparisonHeatmap(*comparison, documentContext(*m_document), m_document->selectedQuery()) : HeatmapFigure();
    m_figure.showNumbers = m_options->showNumbers();
    update();
}

void ComparisonView::updateFigure()
{
    m_deferred->flush();
}

QSizeF ComparisonView::figureSize() const
{
    return preferredHeatmapSize(m_figure, style());
}

void ComparisonView::paintFigure(QPainter &painter, const QRectF &area) const
{
    paintHeatmapForDevice(painter, area, m_figure, style());
}

void ComparisonView::paintEvent(QPaintEvent *)
{
    QPainter painter(this);
    if (m_figure.values().size() == 0) {
        painter.fillRect(rect(), Qt::white);
        painter.setPen(palette().color(QPalette::PlaceholderText));
        painter.drawText(rect().adjusted(12, 12, -12, -12), Qt::AlignCenter | Qt::TextWordWrap,
                         m_document->comparisonText().trimmed().isEmpty()
                             ? tr("Type a second sentence above to see how each head changes between the two.")
                             : tr("Computing…"));
        return;
    }
    const HeatmapStyle fitted = fittedStyle(m_figure, style(), QSizeF(size()));
    const HeatmapLayout layout(int(m_figure.values().rows()), int(m_figure.values().cols()), QRectF(rect()), heatmapMargins(m_figure, fitted));
    if (layout.cellSize() < kSmallestReadableCell) { // too small to read: say where it reads
        painter.fillRect(rect(), Qt::white);
        painter.setPen(palette().color(QPalette::PlaceholderText));
        painter.drawText(rect().adjusted(12, 12, -12, -12), Qt::AlignCenter | Qt::TextWordWrap,
                         tr("Too small to read here: choose “difference from the compared sentence” under Heatmap of, "
                            "or enlarge this panel."));
        return;
    }
    paintHeatmapFigure(painter, QRectF(rect()), m_figure, fitted);
}

ComparisonPanel::ComparisonPanel(AttentionDocument *document, ViewOptions *options, QWidget *parent)
    : QWidget(parent), m_document(document)
{
    auto *layout = new QVBoxLayout(this);
    m_text = new QLineEdit(this);
    m_text->setObjectName(QStringLiteral("comparisonText"));
    m_text->setPlaceholderText(tr("Compare with a second sentence, e.g. … because it was too wide."));
    m_text->setClearButtonEnabled(true);
    m_text->setToolTip(tr("Run on the same model; equal tokens are aligned in order, and each head's rows compared over them."));
    layout->addWidget(m_text);
    m_summary = new QLabel(this);
    m_summary->setObjectName(QStringLiteral("comparisonSummary"));
    m_summary->setWordWrap(true);
    layout->addWidget(m_summary);
    m_heads = new QTreeWidget(this);
    m_heads->setObjectName(QStringLiteral("comparisonHeads"));
    m_heads->setHeaderLabels({tr("Head"), tr("Divergence (bits)")});
    m_heads->setRootIsDecorated(false);
    m_heads->header()->setStretchLastSection(true);
    m_heads->header()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
    // A few rows: the difference heatmap below gets the height.
    m_heads->setFixedHeight(m_heads->fontMetrics().lineSpacing() * 6 + 8);
    m_heads->setToolTip(tr("Heads that changed most first: the mean over aligned queries of the Jensen–Shannon divergence "
                           "(base 2) between their rows in the two sentences, restricted to the aligned keys. Click to select."));
    layout->addWidget(m_heads);
    m_view = new ComparisonView(document, options, this);
    layout->addWidget(m_view, 1);

    connect(m_text, &QLineEdit::textEdited, document, &AttentionDocument::editComparisonText);
    connect(document, &AttentionDocument::workspaceChanged, this, [this] {
        if (m_text->text() != m_document->comparisonText()) {
            const QSignalBlocker block(m_text);
            m_text->setText(m_document->comparisonText());
        }
    });
    connect(document, &AttentionDocument::comparisonChanged, this, &ComparisonPanel::sync);
    connect(m_heads, &QTreeWidget::itemClicked, this, [this](QTreeWidgetItem *item) {
        m_document->selectHead(item->data(0, Qt::UserRole).toInt(), item->data(1, Qt::UserRole).toInt());
    });
    sync();
}

QString ComparisonPanel::summary() const
{
    return m_summary->text();
}

void ComparisonPanel::sync()
{
    m_heads->clear();
    const auto comparison = m_document->comparison();
    if (!comparison) {
        m_summary->setText(m_document->isTranslation() ? tr("Comparing two sentences is for single-stack models (GPT-2, BERT, Llama …); "
                                                            "a translation model compares its target with its source in the cross-attention.")
                           : m_document->comparisonText().trimmed().isEmpty() ? QString()
                                                                              : tr("Computing…"));
        return;
    }
    m_summary->setText(tr("%1 of %2 tokens aligned with %3 of “%4”. The heads that changed most:")
                           .arg(comparison->alignment.size()).arg(comparison->a->tokenCount())
                           .arg(comparison->b->tokenCount()).arg(comparison->textB.simplified()));
    const auto heads = comparison->headsByDivergence();
    for (size_t i = 0; i < heads.size() && i < size_t(kListedHeads); ++i) {
        const auto [layer, head] = heads[i];
        auto *item = new QTreeWidgetItem(m_heads);
        item->setText(0, tr("layer %1 · head %2").arg(layer).arg(head));
        item->setText(1, divergenceText(comparison->divergence[size_t(layer)][size_t(head)].divergence));
        item->setData(0, Qt::UserRole, layer);
        item->setData(1, Qt::UserRole, head);
    }
}

} // namespace studio

#include "stepthroughview.h"

#include "attentiondocument.h"
#include "deferredrebuild.h"
#include "stepexplainer.h"
#include "viewoptions.h"

#include <QButtonGroup>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QMouseEvent>
#include <QPainter>
#include <QShortcut>
#include <QSplitter>
#include <QTextBrowser>
#include <QToolButton>
#include <QVBoxLayout>

namespace studio {

MatrixCanvas::MatrixCanvas(ViewOptions *options, QWidget *parent) : QWidget(parent), m_options(options) {}

void MatrixCanvas::setFigure(const HeatmapFigure &figure)
{
    m_figure = figure;
    update();
}

HeatmapStyle MatrixCanvas::style() const
{
    HeatmapStyle style;
    style.font = m_options->font();
    return style;
}

// On screen the formula above says what the matrix is, so the caption (kept for exports) is left
// out and the matrix gets the room.
HeatmapFigure MatrixCanvas::shownFigure() const
{
    HeatmapFigure shown = m_figure;
    shown.caption.clear();
    return shown;
}

void MatrixCanvas::paintEvent(QPaintEvent *)
{
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    paintHeatmapFigure(painter, QRectF(rect()), shownFigure(), style());
}

void MatrixCanvas::mousePressEvent(QMouseEvent *event)
{
    const HeatmapFigure shown = shownFigure();
    const HeatmapLayout layout(int(shown.values().rows()), int(shown.values().cols()), QRectF(rect()), heatmapMargins(shown, style()));
    if (const auto cell = layout.cellAt(event->position()))
        Q_EMIT cellClicked(cell->row, cell->col);
}

StepThroughView::StepThroughView(AttentionDocument *document, ViewOptions *options, QWidget *parent)
    : QWidget(parent), m_document(document), m_options(options)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    auto *bar = new QHBoxLayout;
    auto *previousButton = new QToolButton(this);
    previousButton->setText(QStringLiteral("◀"));
    previousButton->setToolTip(tr("Previous stage (Page Up)"));
    bar->addWidget(previousButton);
    m_stages = new QButtonGroup(this);
    m_stages->setExclusive(true);
    for (int s = 0; s < kStageCount; ++s) {
        auto *button = new QToolButton(this);
        button->setText(QStringLiteral("%1 %2").arg(s + 1).arg(stageTitle(Stage(s))));
        button->setCheckable(true);
        button->setToolTip(stageFormula(Stage(s)));
        button->setObjectName(QStringLiteral("stage%1").arg(s));
        m_stages->addButton(button, s);
        bar->addWidget(button);
    }
    auto *nextButton = new QToolButton(this);
    nextButton->setText(QStringLiteral("▶"));
    nextButton->setToolTip(tr("Next stage (Page Down)"));
    bar->addWidget(nextButton);
    bar->addStretch();
    m_projection = new QComboBox(this);
    for (Projection projection : kProjections)
        m_projection->addItem(projectionName(projection), int(projection));
    m_projection->setToolTip(tr("Which projection to show at the Q, K, V stage"));
    bar->addWidget(m_projection);
    layout->addLayout(bar);

    m_formula = new QLabel(this);
    m_formula->setObjectName(QStringLiteral("formula"));
    QFont formulaFont = font();
    formulaFont.setPointSizeF(formulaFont.pointSizeF() * 1.4);
    m_formula->setFont(formulaFont);
    layout->addWidget(m_formula);

    auto *splitter = new QSplitter(Qt::Horizontal, this);
    m_canvas = new MatrixCanvas(options, splitter);
    m_canvas->setToolTip(tr("Click a cell to follow that query (row) and key (column)."));
    m_explanation = new QTextBrowser(splitter);
    m_explanation->setObjectName(QStringLiteral("explanation"));
    m_explanation->setMinimumWidth(220);
    splitter->addWidget(m_canvas);
    splitter->addWidget(m_explanation);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    splitter->setSizes({600, 400});
    layout->addWidget(splitter, 1);

    connect(previousButton, &QToolButton::clicked, this, &StepThroughView::previous);
    connect(nextButton, &QToolButton::clicked, this, &StepThroughView::next);
    auto *nextKey = new QShortcut(QKeySequence(Qt::Key_PageDown), this, this, &StepThroughView::next, Qt::WidgetWithChildrenShortcut);
    auto *previousKey = new QShortcut(QKeySequence(Qt::Key_PageUp), this, this, &StepThroughView::previous, Qt::WidgetWithChildrenShortcut);
    Q_UNUSED(nextKey);
    Q_UNUSED(previousKey);
    connect(m_stages, &QButtonGroup::idClicked, this, [this](int id) { m_document->setStage(Stage(id)); });
    connect(m_projection, &QComboBox::currentIndexChanged, this, &StepThroughView::rebuild);
    connect(m_canvas, &MatrixCanvas::cellClicked, this, [this](int row, int col) {
        m_document->selectQuery(row);
        if (m_canvas->figure().values().cols() == m_document->tokenCount())
            m_document->selectKey(col);
    });
    m_deferred = new DeferredRebuild(this, [this] { rebuild(); });
    connect(document, &AttentionDocument::resultChanged, m_deferred, &DeferredRebuild::request);
    for (auto change : {&AttentionDocument::headSelected, &AttentionDocument::querySelected, &AttentionDocument::stageChanged})
        connect(document, change, m_deferred, &DeferredRebuild::request);
    connect(options, &ViewOptions::changed, m_deferred, &DeferredRebuild::request);
    rebuild();
}

void StepThroughView::next()
{
    m_document->setStage(Stage(std::min(kStageCount - 1, int(m_document->stage()) + 1)));
}

void StepThroughView::previous()
{
    m_document->setStage(Stage(std::max(0, int(m_document->stage()) - 1)));
}

QString StepThroughView::formulaText() const
{
    return m_formula->text();
}

QString StepThroughView::explanationHtml() const
{
    return m_explanation->toHtml();
}

void StepThroughView::rebuild()
{
    const Stage stage = m_document->stage();
    if (QAbstractButton *button = m_stages->button(int(stage)))
        button->setChecked(true);
    m_projection->setVisible(stage == Stage::Projections);
    const HeadDetails &details = m_document->selectedDetails();
    m_formula->setText(QStringLiteral("%1. %2:   %3").arg(int(stage) + 1).arg(stageTitle(stage), stageFormula(stage)));
    if (details.trace.weights.size() == 0) {
        m_canvas->setFigure({});
        m_explanation->setHtml(tr("<p>Type a sentence to step through its attention.</p>"));
        return;
    }
    const ColorMapKind colors = colorMapFor(stage == Stage::Weights ? ValueKind::Weights : ValueKind::Signed, m_options->colorMap());
    HeatmapFigure figure = stageFigure(m_document->result(), details, documentContext(*m_document), stage,
                                       selectedProjection(), colors, m_document->selectedQuery());
    figure.showNumbers = true;
    m_canvas->setFigure(figure);
    m_explanation->setHtml(explainStage(m_document->result(), details, stage, m_document->selectedQuery(),
                                        m_document->selectedKey(), selectedProjection()));
}

Projection StepThroughView::selectedProjection() const
{
    return Projection(m_projection->currentData().toInt());
}

void StepThroughView::updateFigure()
{
    m_deferred->flush();
}

HeatmapFigure StepThroughView::exportedFigure() const
{
    HeatmapFigure figure = m_canvas->figure();
    figure.caption.append(formulaText());
    return figure;
}

QSizeF StepThroughView::figureSize() const
{
    return preferredHeatmapSize(exportedFigure(), m_canvas->style());
}

void StepThroughView::paintFigure(QPainter &painter, const QRectF &area) const
{
    HeatmapFigure figure = exportedFigure();
    figure.vectorCells = painter.device()->devType() != QInternal::Image;
    paintHeatmapFigure(painter, area, figure, m_canvas->style());
}

} // namespace studio

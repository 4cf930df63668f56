#include "stepthroughview.h"

#include "attentiondocument.h"
#include "deferredrebuild.h"
#include "presenterfit.h"
#include "rotationfigure.h"
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

#include <cmath>
#include <numbers>

namespace studio {

MatrixCanvas::MatrixCanvas(ViewOptions *options, QWidget *parent) : QWidget(parent), m_options(options) {}

void MatrixCanvas::setFigure(const HeatmapFigure &figure)
{
    m_figure = figure;
    refit();
    update();
}

void MatrixCanvas::refit()
{
    // In the window: every row and column labelled, at a smaller font if the pane is short
    // (presenter mode sets its own sizing and keeps it).
    m_screenStyle = m_fontPixels > 0 ? style() : fittedStyle(shownFigure(), style(), QSizeF(size()));
}

void MatrixCanvas::resizeEvent(QResizeEvent *event)
{
    QWidget::resizeEvent(event);
    refit();
}

HeatmapStyle MatrixCanvas::style() const
{
    HeatmapStyle style;
    style.font = m_options->font();
    // In the window the matrix may use the pane's width: cells up to three times wider than high
    // hold their numbers while the pane's height sets the rows (presenter mode keeps square cells).
    if (m_fontPixels <= 0)
        style.maxCellAspect = 3;
    if (m_fontPixels > 0)
        style.font.setPixelSize(m_fontPixels);
    if (m_labelWidth > 0)
        style.labelWidth = m_labelWidth;
    return style;
}

void MatrixCanvas::setSizing(int fontPixels, double labelWidth)
{
    m_fontPixels = fontPixels;
    m_labelWidth = labelWidth;
    refit();
    update();
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
    paintHeatmapFigure(painter, QRectF(rect()), shownFigure(), m_screenStyle);
}

void MatrixCanvas::mousePressEvent(QMouseEvent *event)
{
    const HeatmapFigure shown = shownFigure();
    const HeatmapLayout layout(int(shown.values().rows()), int(shown.values().cols()), QRectF(rect()), heatmapMargins(shown, m_screenStyle));
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
    // One row, the rest of the block's stages under short names, so that it fits a projector's width.
    for (int s = 0; s < kStageCount; ++s) {
        auto *button = new QToolButton(this);
        button->setText(QStringLiteral("%1 %2").arg(s + 1).arg(stageButtonTitle(Stage(s))));
        button->setCheckable(true);
        button->setToolTip(QStringLiteral("%1: %2").arg(stageTitle(Stage(s)), stageFormula(Stage(s))));
        button->setObjectName(QStringLiteral("stage-") + stageName(Stage(s)));
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
    // A scroll bar that came and went with the text's height made every new text laid out twice
    // (once for each width).
    m_explanation->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOn);
    splitter->addWidget(m_canvas);
    splitter->addWidget(m_explanation);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    splitter->setSizes({600, 400});
    layout->addWidget(splitter, 1);

    connect(previousButton, &QToolButton::clicked, this, &StepThroughView::previous);
    connect(nextButton, &QToolButton::clicked, this, &StepThroughView::next);
    // Presentation clickers send Page Down / Page Up: they step through the stages whatever has
    // the focus in the window (the sentence field, a view, a combo box).
    auto *nextKey = new QShortcut(QKeySequence(Qt::Key_PageDown), this, this, &StepThroughView::next, Qt::WindowShortcut);
    auto *previousKey = new QShortcut(QKeySequence(Qt::Key_PageUp), this, this, &StepThroughView::previous, Qt::WindowShortcut);
    Q_UNUSED(nextKey);
    Q_UNUSED(previousKey);
    connect(m_stages, &QButtonGroup::idClicked, this, [this](int id) { m_document->setStage(Stage(id)); });
    connect(m_projection, &QComboBox::currentIndexChanged, this, &StepThroughView::rebuild);
    connect(m_canvas, &MatrixCanvas::cellClicked, this, [this](int row, int col) {
        m_document->selectQuery(row);
        if (m_canvas->figure().values().cols() == m_document->result().keyCount())
            m_document->selectKey(col);
    });
    m_deferred = new DeferredRebuild(this, [this] { rebuild(); });
    connect(document, &AttentionDocument::resultChanged, m_deferred, &DeferredRebuild::request);
    for (auto change : {&AttentionDocument::headSelected, &AttentionDocument::querySelected, &AttentionDocument::stageChanged,
                        &AttentionDocument::sceneChanged, &AttentionDocument::blockReady})
        connect(document, change, m_deferred, &DeferredRebuild::request);
    connect(options, &ViewOptions::changed, m_deferred, &DeferredRebuild::request);
    rebuild();
}

void StepThroughView::next()
{
    // The stages this model has: Rotary only for rotary models.
    if (const std::optional<Stage> after = stageAfter(m_document->result(), m_document->stage()))
        m_document->setStage(*after);
}

void StepThroughView::previous()
{
    if (const std::optional<Stage> before = stageBefore(m_document->result(), m_document->stage()))
        m_document->setStage(*before);
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
    // Number the stages this model has, and hide the others; a stage it lacks shows as the one before.
    const AttentionResult &result = m_document->result();
    const std::vector<Stage> stages = stagesFor(result);
    Stage stage = m_document->stage();
    if (!stageApplies(stage, result))
        stage = Stage::Projections;
    int shownNumber = 1;
    for (Stage s : kStages) {
        QAbstractButton *button = m_stages->button(int(s));
        const bool applies = stageApplies(s, result);
        button->setVisible(applies);
        if (applies)
            button->setText(QStringLiteral("%1 %2").arg(shownNumber++).arg(stageButtonTitle(s, result)));
    }
    if (QAbstractButton *button = m_stages->button(int(stage)))
        button->setChecked(true);
    m_projection->setVisible(stage == Stage::Projections || stage == Stage::Rotary);
    const HeadDetails &details = m_document->selectedDetails();
    const int position = int(std::find(stages.begin(), stages.end(), stage) - stages.begin()) + 1;
    m_formula->setText(QStringLiteral("%1. %2:   %3").arg(position).arg(stageTitle(stage, result), stageFormula(stage, result)));
    if (details.trace.weights.size() == 0) {
        m_canvas->setFigure({});
        m_explanation->setHtml(tr("<p>Type a sentence to step through its attention.</p>"));
        return;
    }
    const ColorMapKind colors = colorMapFor(stageValueKind(stage), m_options->colorMap());
    HeatmapFigure figure = stageFigure(m_document->result(), details, documentContext(*m_document), stage,
                                       selectedProjection(), colors, m_document->selectedQuery(), m_document->selectedKey());
    figure.showNumbers = true;
    m_canvas->setFigure(figure);
    QString html = explainStage(m_document->result(), details, stage, m_document->selectedQuery(),
                                m_document->selectedKey(), selectedProjection(), m_document->hiddenQuery());
    if (stage == Stage::Rotary && details.trace.qPreRope.size() > 0 && !details.ropeFrequencies.empty()) {
        // The fastest-turning pair (0) of the selected query's q (or of its k), drawn in its plane.
        const int query = std::clamp(m_document->selectedQuery(), 0, int(details.trace.q.rows()) - 1);
        const bool keys = selectedProjection() == Projection::K;
        const Matrix &before = keys ? details.trace.kPreRope : details.trace.qPreRope;
        const Matrix &after = keys ? details.trace.k : details.trace.q;
        const int half = int(details.ropeFrequencies.size());
        PairRotationFigure pair;
        pair.before = QPointF(before(query, 0), before(query, half));
        pair.after = QPointF(after(query, 0), after(query, half));
        pair.angle = query * details.ropeFrequencies[0];
        const double degrees = std::fmod(pair.angle, 2 * std::numbers::pi) * 180.0 / std::numbers::pi;
        pair.caption = tr("%1 of “%2”, pair 0: turned by %3 × %4 = %5 rad (%6° past whole turns)")
                           .arg(keys ? QStringLiteral("k") : QStringLiteral("q"), result.labels.value(query))
                           .arg(query).arg(number(details.ropeFrequencies[0]), number(pair.angle)).arg(degrees, 0, 'f', 0);
        const QImage picture = pairRotationImage(pair, QSize(280, 240), devicePixelRatioF());
        if (!picture.isNull()) {
            const QUrl url(QStringLiteral("studio:rope-pair"));
            m_explanation->document()->addResource(QTextDocument::ImageResource, url, picture);
            html += QStringLiteral("<p><img src=\"%1\"></p>").arg(url.toString());
        }
    }
    m_explanation->setHtml(html);
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
    paintHeatmapForDevice(painter, area, exportedFigure(), m_canvas->style());
}

} // namespace studio

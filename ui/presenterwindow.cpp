#include "presenterwindow.h"

#include "attentiondocument.h"
#include "presenterfit.h"
#include "stepexplainer.h"
#include "stepthroughview.h"
#include "viewoptions.h"

#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QScreen>
#include <QTextBrowser>
#include <QVBoxLayout>

#include <algorithm>

namespace studio {

namespace {

constexpr int kMinMatrixFont = 12;
constexpr int kMaxMatrixFont = 48;

QFont sizedFont(QFont font, int pixels, bool bold = false)
{
    font.setPixelSize(pixels);
    font.setBold(bold);
    return font;
}

} // namespace

int PresenterWindow::baseFontPixels(int screenHeight)
{
    return std::clamp(screenHeight / 30, 16, 48);
}

PresenterWindow::PresenterWindow(AttentionDocument *document, ViewOptions *options, QWidget *parent)
    : QWidget(parent, Qt::Window)
    , m_document(document)
    , m_options(options)
{
    setObjectName(QStringLiteral("presenter"));
    setWindowTitle(tr("Attention Studio — presenter mode"));
    setAttribute(Qt::WA_DeleteOnClose);
    setAutoFillBackground(true);
    QPalette white = palette();
    white.setColor(QPalette::Window, Qt::white);
    setPalette(white);
    // Keys reach this window whatever was clicked: no child takes the focus.
    setFocusPolicy(Qt::StrongFocus);

    m_title = new QLabel(this);
    m_title->setObjectName(QStringLiteral("presenterTitle"));
    m_title->setWordWrap(true);
    m_subtitle = new QLabel(this);
    m_subtitle->setWordWrap(true);
    m_canvas = new MatrixCanvas(options, this);
    m_canvas->setFocusPolicy(Qt::NoFocus);
    m_arithmetic = new QTextBrowser(this);
    m_arithmetic->setObjectName(QStringLiteral("presenterArithmetic"));
    m_arithmetic->setFocusPolicy(Qt::NoFocus);
    m_arithmetic->setFrameShape(QFrame::NoFrame);
    m_hint = new QLabel(tr("Page Down / → next · Page Up / ← back · B black screen · Esc leave"), this);
    m_hint->setStyleSheet(QStringLiteral("color: #888;"));

    auto *body = new QHBoxLayout;
    body->addWidget(m_canvas, 3);
    body->addWidget(m_arithmetic, 2);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(24, 16, 24, 8);
    layout->addWidget(m_title);
    layout->addWidget(m_subtitle);
    layout->addLayout(body, 1);
    layout->addWidget(m_hint);

    m_black = new QWidget(this);
    m_black->setObjectName(QStringLiteral("blackScreen"));
    m_black->setAutoFillBackground(true);
    QPalette black = m_black->palette();
    black.setColor(QPalette::Window, Qt::black);
    m_black->setPalette(black);
    m_black->hide();

    connect(m_canvas, &MatrixCanvas::cellClicked, this, [this](int row, int) { m_document->selectQuery(row); });
    for (auto change : {&AttentionDocument::resultChanged, &AttentionDocument::headSelected, &AttentionDocument::querySelected,
                        &AttentionDocument::stageChanged, &AttentionDocument::sceneChanged, &AttentionDocument::blockReady})
        connect(document, change, this, &PresenterWindow::rebuild);
    connect(options, &ViewOptions::changed, this, &PresenterWindow::rebuild);

    // The arithmetic is about one query: start on the first if none is chosen.
    if (m_document->selectedQuery() < 0 && m_document->tokenCount() > 0)
        m_document->selectQuery(0);
    rebuild();
}

void PresenterWindow::next()
{
    if (m_document->weightsHidden()) { // the class has predicted: show the answer first
        m_document->revealWeights();
        return;
    }
    // The arithmetic a step at a time, then the next stage.
    if (m_shownSteps < m_steps.size()) {
        ++m_shownSteps;
        showArithmetic();
        return;
    }
    const auto before = m_shownFor;
    nextStage();
    if (m_shownFor != before) { // moved on: the new stage from its first step
        m_shownSteps = 1;
        showArithmetic();
    }
}

void PresenterWindow::nextStage()
{
    const AttentionResult &result = m_document->result();
    if (const std::optional<Stage> after = stageAfter(result, m_document->stage())) {
        m_document->setStage(*after);
        return;
    }
    // Past the last stage: the next query, from the first stage.
    const int query = m_document->selectedQuery();
    if (query + 1 < m_document->tokenCount()) {
        m_document->selectQuery(query + 1);
        m_document->setStage(stagesFor(result).front());
    }
}

void PresenterWindow::previous()
{
    if (m_shownSteps > 1 && m_shownSteps <= m_steps.size()) {
        --m_shownSteps;
        showArithmetic();
        return;
    }
    previousStage();
}

void PresenterWindow::previousStage()
{
    const AttentionResult &result = m_document->result();
    if (const std::optional<Stage> before = stageBefore(result, m_document->stage())) {
        m_document->setStage(*before);
        return;
    }
    const int query = m_document->selectedQuery();
    if (query > 0) {
        m_document->selectQuery(query - 1);
        m_document->setStage(stagesFor(result).back());
    }
}

void PresenterWindow::nextScene()
{
    if (m_document->weightsHidden()) {
        m_document->revealWeights();
        return;
    }
    const int scene = m_document->activeScene();
    if (scene < 0)
        next();
    else if (scene + 1 < int(m_document->scenes().size()))
        m_document->goToScene(scene + 1);
}

void PresenterWindow::previousScene()
{
    const int scene = m_document->activeScene();
    if (scene < 0)
        previous();
    else if (scene > 0)
        m_document->goToScene(scene - 1);
}

void PresenterWindow::toggleBlack()
{
    m_black->setGeometry(rect());
    m_black->setVisible(!m_black->isVisible());
    m_black->raise();
}

bool PresenterWindow::isBlack() const
{
    return m_black->isVisible();
}

QString PresenterWindow::titleText() const
{
    return m_title->text();
}

QString PresenterWindow::subtitleText() const
{
    return m_subtitle->text();
}

QString PresenterWindow::arithmeticText() const
{
    return m_arithmetic->toPlainText();
}

void PresenterWindow::keyPressEvent(QKeyEvent *event)
{
    switch (event->key()) {
    case Qt::Key_PageDown: // a clicker: scene by scene while a scene plays
        nextScene();
        break;
    case Qt::Key_PageUp:
        previousScene();
        break;
    case Qt::Key_Right:
    case Qt::Key_Space:
        next();
        break;
    case Qt::Key_Down: // the whole next stage at once
        nextStage();
        break;
    case Qt::Key_Left:
    case Qt::Key_Backspace:
        previous();
        break;
    case Qt::Key_Up:
        previousStage();
        break;
    case Qt::Key_B:
    case Qt::Key_Period: // what many clickers send for "blank screen"
        toggleBlack();
        break;
    case Qt::Key_Escape:
        close();
        break;
    default:
        QWidget::keyPressEvent(event);
    }
}

void PresenterWindow::resizeEvent(QResizeEvent *event)
{
    QWidget::resizeEvent(event);
    m_black->setGeometry(rect());
    rebuild();
}

void PresenterWindow::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    setFocus();
    rebuild();
}

void PresenterWindow::rebuild()
{
    const int base = baseFontPixels(height() > 0 ? height() : 720);
    m_title->setFont(sizedFont(m_options->font(), base * 5 / 4, true));
    m_subtitle->setFont(sizedFont(m_options->font(), base));
    m_arithmetic->setFont(sizedFont(m_options->font(), base));
    m_hint->setFont(sizedFont(m_options->font(), std::max(12, base / 2)));

    const AttentionResult &result = m_document->result();
    Stage stage = m_document->stage();
    if (!stageApplies(stage, result))
        stage = Stage::Projections;
    const std::vector<Stage> stages = stagesFor(result);
    const int position = int(std::find(stages.begin(), stages.end(), stage) - stages.begin()) + 1;
    m_title->setText(QStringLiteral("%1. %2:   %3").arg(position).arg(stageTitle(stage, result), stageFormula(stage, result)));

    const HeadDetails &details = m_document->selectedDetails();
    const int query = m_document->selectedQuery();
    // A translation: the source, then the target its decoder reads.
    const QString sentence = m_document->isTranslation() && !m_document->textPair().isEmpty()
                                 ? tr("“%1” → “%2”").arg(m_document->workspace().text.left(80), m_document->textPair().left(80))
                                 : tr("“%1”").arg(m_document->workspace().text.left(120));
    m_subtitle->setText(tr("%1 · %2 · query %3 “%4”")
                            .arg(sentence, m_document->headName(m_document->selectedLayer(), m_document->selectedHead()))
                            .arg(query)
                            .arg(result.labels.value(query)));
    // While scenes play, the scene leads the line under the title (the title stays the stage's).
    if (const Scene *scene = m_document->activeSceneData())
        m_subtitle->setText(tr("Scene %1 of %2 · %3 · %4").arg(m_document->activeScene() + 1).arg(m_document->scenes().size())
                                .arg(scene->name, m_subtitle->text()));
    if (details.trace.weights.size() == 0) {
        m_canvas->setFigure({});
        m_arithmetic->setHtml(tr("<p>Type a sentence in the window to present its attention.</p>"));
        return;
    }
    const ColorMapKind colors = colorMapFor(stageValueKind(stage), m_options->colorMap());
    HeatmapFigure figure = stageFigure(result, details, documentContext(*m_document), stage, Projection::Q, colors, query,
                                       m_document->selectedKey());
    figure.showNumbers = true;
    figure.caption.clear();
    m_canvas->setFigure(figure);
    fitMatrix();
    m_steps = arithmeticSteps(explainStage(result, details, stage, query, m_document->selectedKey(), Projection::Q,
                                           m_document->hiddenQuery()));
    // Reached by stepping, a stage starts from its first step (next() sets it); reached any other
    // way (a click in the window, a scene, stepping back), it shows whole.
    const auto shown = std::tuple{int(stage), query, m_document->selectedLayer(), m_document->selectedHead()};
    if (shown != m_shownFor)
        m_shownSteps = int(m_steps.size());
    m_shownFor = shown;
    showArithmetic();
}

void PresenterWindow::showArithmetic()
{
    m_shownSteps = std::clamp(m_shownSteps, 1, std::max(1, int(m_steps.size())));
    m_arithmetic->setHtml(m_steps.mid(0, m_shownSteps).join(QString()));
    const int base = baseFontPixels(height() > 0 ? height() : 720);
    fitArithmetic(base);
    QString hint = m_document->activeScene() >= 0
        ? tr("Page Down / Page Up scene by scene · → ← step by step · ↓ ↑ stage by stage · B black screen · Esc leave")
        : tr("Page Down / → next step · Page Up / ← back · ↓ ↑ stage by stage · B black screen · Esc leave");
    if (m_shownSteps < m_steps.size())
        hint = tr("Step %1 of %2 · ").arg(m_shownSteps).arg(m_steps.size()) + hint;
    if (m_document->weightsHidden())
        hint = tr("Weights hidden: predict, then press Page Down or → to reveal") + QStringLiteral(" · ") + hint;
    m_hint->setText(hint);
}

void PresenterWindow::fitArithmetic(int base)
{
    // A clicker cannot scroll: the arithmetic shrinks (down to 60 % of the text size) to fit its pane.
    const double height = m_arithmetic->viewport()->height();
    const double width = m_arithmetic->viewport()->width();
    if (height <= 0 || width <= 0)
        return;
    for (int pixels = base; pixels >= std::max(12, base * 3 / 5); --pixels) {
        m_arithmetic->setFont(sizedFont(m_options->font(), pixels));
        m_arithmetic->document()->setDefaultFont(m_arithmetic->font());
        m_arithmetic->document()->setTextWidth(width);
        if (m_arithmetic->document()->size().height() <= height)
            return;
    }
}

void PresenterWindow::fitMatrix()
{
    // The largest font at which every label and number of this matrix fits the canvas.
    const QSizeF area = m_canvas->size().isEmpty() ? QSizeF(width() * 0.6, height() * 0.75) : QSizeF(m_canvas->size());
    const HeatmapReadability fit = fitHeatmapFont(m_canvas->figure(), m_options->font(), area, kMinMatrixFont, kMaxMatrixFont);
    m_matrixFontPixels = fit.fontPixels;
    m_canvas->setSizing(fit.fontPixels, kUnlimitedLabelWidth);
}

} // namespace studio

#include "mainwindow.h"

#include "arcview.h"
#include "attentiondocument.h"
#include "autosave.h"
#include "controlspanel.h"
#include "distributionchart.h"
#include "downloaddialog.h"
#include "exportactions.h"
#include "heatmapview.h"
#include "helptexts.h"
#include "modelgridview.h"
#include "preferences.h"
#include "presenterwindow.h"
#include "comparisonpanel.h"
#include "predictionpanel.h"
#include "scenespanel.h"
#include "stepthroughview.h"
#include "viewoptions.h"
#include "wording.h"
#include "weighteditor.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QCheckBox>
#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDockWidget>
#include <QFile>
#include <QFileDialog>
#include <QDateTime>
#include <QFileInfo>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QScreen>
#include <QScrollArea>
#include <QSignalBlocker>
#include <QStatusBar>
#include <QTextBrowser>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>

#include <limits>

namespace studio {

namespace {

// The Model box's two action items, told apart from model folders by their data.
const QString kOpenFolderItem = QStringLiteral("?open");
const QString kDownloadItem = QStringLiteral("?download");
// Narrower screens (a 1280×720 projector) get the compact default layout.
constexpr int kWideScreen = 1500;
// Translate stops at the model's end token; this bounds a model that never writes it.
constexpr int kMaxTranslatedTokens = 128;

QDockWidget *addDock(QMainWindow *window, QWidget *widget, const QString &title, const QString &name, Qt::DockWidgetArea area)
{
    auto *dock = new QDockWidget(title, window);
    dock->setObjectName(name);
    dock->setWidget(widget);
    window->addDockWidget(area, dock);
    return dock;
}

} // namespace

MainWindow::MainWindow(QWidget *parent)
    : QMainWindow(parent), m_document(new AttentionDocument(this)), m_options(new ViewOptions(this))
{
    setWindowIcon(QIcon(QStringLiteral(":/icons/attention-studio.svg")));
    if (const std::optional<ColorMapKind> colors = colorMapFromName(preferences::colorMap.get()))
        m_options->setColorMap(*colors);
    m_options->setShowNumbers(preferences::showNumbers.get());
    m_options->setFontSize(preferences::fontSize.get());

    // Input bar: sentence, second sentence (BERT), samples, model, head.
    auto *inputBar = new QToolBar(tr("Input"), this);
    inputBar->setObjectName(QStringLiteral("inputBar"));
    inputBar->setMovable(false);
    auto *inputs = new QWidget(inputBar);
    auto *inputLayout = new QHBoxLayout(inputs);
    inputLayout->setContentsMargins(4, 2, 4, 2);
    // No hidden limit on the text (QLineEdit keeps 32,767 characters by default and would cut a
    // longer text behind the user's back); the models state their own cut with a notice.
    m_sentence = new QLineEdit(inputs);
    m_sentence->setMaxLength(std::numeric_limits<int>::max());
    m_sentence->setObjectName(QStringLiteral("sentence"));
    m_sentence->setPlaceholderText(tr("Type a sentence"));
    m_sentence->setToolTip(tr("Every keystroke recomputes every view."));
    m_sentence->setClearButtonEnabled(true);
    m_pair = new QLineEdit(inputs);
    m_pair->setMaxLength(std::numeric_limits<int>::max());
    m_pair->setObjectName(QStringLiteral("pair"));
    m_pair->setPlaceholderText(tr("Second sentence (optional)"));
    m_pair->setToolTip(tr("BERT reads sentence pairs: [CLS] first [SEP] second [SEP]."));
    m_samples = new QComboBox(inputs);
    m_samples->setToolTip(tr("Sample sentences"));
    // As wide as its title, not as its longest sentence: the text fields keep the room.
    m_samples->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_samples->setMinimumContentsLength(9);
    m_samples->addItem(tr("Samples…"));
    QFile samples(QStringLiteral(":/samples.txt"));
    if (samples.open(QIODevice::ReadOnly))
        for (const QString &line : QString::fromUtf8(samples.readAll()).split(QLatin1Char('\n'), Qt::SkipEmptyParts))
            m_samples->addItem(line);
    m_model = new QComboBox(inputs);
    m_model->setObjectName(QStringLiteral("model"));
    m_model->setToolTip(tr("The teaching model, a model from the Hugging Face cache, or a model folder"));
    m_headChooser = new QComboBox(inputs);
    m_headChooser->setObjectName(QStringLiteral("head"));
    m_headChooser->setToolTip(tr("The selected head, shown in the heatmap, step-through and weights"));
    m_attentionKind = new QComboBox(inputs);
    m_attentionKind->setObjectName(QStringLiteral("attentionKind"));
    m_attentionKind->setToolTip(tr("A translation model attends three ways: the encoder over the source, the decoder over the target "
                                   "written so far, and the decoder's cross-attention from each target token to the source"));
    for (AttentionKind kind : {AttentionKind::Cross, AttentionKind::Encoder, AttentionKind::Decoder})
        m_attentionKind->addItem(kind == AttentionKind::Cross ? tr("Cross-attention (target → source)")
                                 : kind == AttentionKind::Encoder ? tr("Encoder (source → source)")
                                                                  : tr("Decoder (target → target)"),
                                 int(kind));
    m_translate = new QToolButton(inputs);
    m_translate->setObjectName(QStringLiteral("translate"));
    m_translate->setText(tr("Translate"));
    m_translate->setToolTip(tr("Write the target greedily, a token at a time, every view following each step (Undo removes a step)"));
    m_sentenceLabel = new QLabel(tr("&Sentence:"), inputs);
    m_sentenceLabel->setBuddy(m_sentence);
    inputLayout->addWidget(m_sentenceLabel);
    inputLayout->addWidget(m_sentence, 3);
    inputLayout->addWidget(m_pair, 2);
    inputLayout->addWidget(m_translate);
    inputLayout->addWidget(m_attentionKind);
    inputLayout->addWidget(m_samples);
    inputLayout->addWidget(new QLabel(tr("Model:"), inputs));
    inputLayout->addWidget(m_model, 1);
    inputLayout->addWidget(new QLabel(tr("Head:"), inputs));
    inputLayout->addWidget(m_headChooser, 1);
    inputBar->addWidget(inputs);
    addToolBar(Qt::TopToolBarArea, inputBar);

    // Views.
    auto *central = new QWidget(this);
    auto *centralLayout = new QVBoxLayout(central);
    centralLayout->setContentsMargins(0, 0, 0, 0);
    auto *heatmapBar = new QHBoxLayout;
    m_heatmapStage = new QComboBox(central);
    m_heatmapStage->setObjectName(QStringLiteral("heatmapStage"));
    for (HeatmapStage stage : kHeatmapStages)
        m_heatmapStage->addItem(heatmapStageTitle(stage), int(stage));
    m_heatmapStage->setToolTip(tr("What the heatmap shows: a stage of the selected head; its value-weighted attention "
                                  "(how much each key's value moves the output, not just its weight); or how the input "
                                  "tokens reach this layer through every head below (rollout, flow)"));
    heatmapBar->addWidget(new QLabel(tr("Heatmap of"), central));
    heatmapBar->addWidget(m_heatmapStage);
    m_leaveOutSpecial = new QCheckBox(tr("Leave out special tokens"), central);
    m_leaveOutSpecial->setObjectName(QStringLiteral("leaveOutSpecial"));
    m_leaveOutSpecial->setToolTip(tr("A display transform: [CLS], [SEP], <s>, </s> … are greyed out of the weights and each row "
                                     "is renormalised over the other keys, so that what a head does besides its resting place shows"));
    heatmapBar->addWidget(m_leaveOutSpecial);
    auto *numbersNote = new QLabel(central);
    numbersNote->setObjectName(QStringLiteral("numbersNote"));
    numbersNote->setStyleSheet(QStringLiteral("color: #777;"));
    numbersNote->setWordWrap(true);
    heatmapBar->addWidget(numbersNote, 1);
    centralLayout->addLayout(heatmapBar);
    m_heatmap = new HeatmapView(m_document, m_options, central);
    connect(m_heatmap, &HeatmapView::numbersNoteChanged, numbersNote, &QLabel::setText);
    numbersNote->setText(m_heatmap->numbersNote());
    m_heatmap->setObjectName(QStringLiteral("heatmap"));
    centralLayout->addWidget(m_heatmap, 1);
    setCentralWidget(central);

    m_controls = new ControlsPanel(m_document, m_options, this);
    m_arcs = new ArcView(m_document, m_options, this);
    m_grid = new ModelGridView(m_document, m_options, this);
    m_steps = new StepThroughView(m_document, m_options, this);
    m_weights = new WeightEditor(m_document, this);
    m_chart = new DistributionChart(m_document, this);
    auto *controlsScroll = new QScrollArea(this);
    controlsScroll->setWidget(m_controls);
    controlsScroll->setWidgetResizable(true);
    controlsScroll->setFrameShape(QFrame::NoFrame);
    controlsScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    controlsScroll->setMinimumWidth(m_controls->minimumSizeHint().width() + 16);
    QDockWidget *controlsDock = addDock(this, controlsScroll, tr("Controls"), QStringLiteral("controlsDock"), Qt::LeftDockWidgetArea);
    QDockWidget *arcDock = addDock(this, m_arcs, tr("Head view"), QStringLiteral("arcDock"), Qt::RightDockWidgetArea);
    QDockWidget *gridDock = addDock(this, m_grid, tr("Model view"), QStringLiteral("gridDock"), Qt::RightDockWidgetArea);
    QDockWidget *chartDock = addDock(this, m_chart, tr("Distribution"), QStringLiteral("chartDock"), Qt::RightDockWidgetArea);
    m_prediction = new PredictionPanel(m_document, m_options, this);
    QDockWidget *predictionDock = addDock(this, m_prediction, tr("Next token"), QStringLiteral("predictionDock"), Qt::RightDockWidgetArea);
    m_comparison = new ComparisonPanel(m_document, m_options, this);
    QDockWidget *comparisonDock = addDock(this, m_comparison, tr("Compare"), QStringLiteral("comparisonDock"), Qt::RightDockWidgetArea);
    QDockWidget *stepDock = addDock(this, m_steps, tr("Step-through"), QStringLiteral("stepDock"), Qt::BottomDockWidgetArea);
    QDockWidget *weightDock = addDock(this, m_weights, tr("Weights"), QStringLiteral("weightDock"), Qt::BottomDockWidgetArea);
    m_scenes = new ScenesPanel(m_document, [this] { return activeFigureView()->figureName(); }, this);
    // Scrolled like the controls: in a short bottom dock (a projector) it must not push the views up.
    auto *scenesScroll = new QScrollArea(this);
    scenesScroll->setWidget(m_scenes);
    scenesScroll->setWidgetResizable(true);
    scenesScroll->setFrameShape(QFrame::NoFrame);
    scenesScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    QDockWidget *scenesDock = addDock(this, scenesScroll, tr("Scenes"), QStringLiteral("scenesDock"), Qt::LeftDockWidgetArea);
    tabifyDockWidget(controlsDock, scenesDock);
    controlsDock->raise();
    tabifyDockWidget(arcDock, gridDock);
    tabifyDockWidget(gridDock, chartDock);
    tabifyDockWidget(chartDock, predictionDock);
    tabifyDockWidget(predictionDock, comparisonDock);
    arcDock->raise();
    tabifyDockWidget(stepDock, weightDock);
    stepDock->raise();
    resizeDocks({controlsDock, arcDock}, {300, 520}, Qt::Horizontal);
    resizeDocks({stepDock}, {340}, Qt::Vertical);
    // On a projector-sized screen the controls share the bottom with the step-through, so that the
    // heatmap and the head view get the width (a saved layout, restored later, still wins).
    if (const QScreen *screen = QGuiApplication::primaryScreen(); screen && screen->availableGeometry().width() < kWideScreen) {
        tabifyDockWidget(weightDock, controlsDock);
        tabifyDockWidget(controlsDock, scenesDock);
        stepDock->raise();
        resizeDocks({stepDock}, {260}, Qt::Vertical);
    }

    // Status bar: what is shown, progress of long work, notices.
    m_status = new QLabel(this);
    m_notice = new QLabel(this);
    m_notice->setObjectName(QStringLiteral("notice"));
    m_notice->setWordWrap(true);
    m_progress = new QProgressBar(this);
    m_progress->setMaximumWidth(180);
    m_progress->setVisible(false);
    m_cancel = new QToolButton(this);
    m_cancel->setText(tr("Cancel"));
    m_cancel->setVisible(false);
    // bf16 runs say so, with how far they are: a teacher must never take them for exact numbers.
    m_precisionLabel = new QLabel(this);
    m_precisionLabel->setObjectName(QStringLiteral("precisionLabel"));
    m_precisionLabel->setStyleSheet(QStringLiteral("color: #a05000;"));
    m_precisionLabel->setVisible(false);
    statusBar()->addWidget(m_status);
    statusBar()->addWidget(m_notice, 1);
    statusBar()->addPermanentWidget(m_precisionLabel);
    statusBar()->addPermanentWidget(m_progress);
    statusBar()->addPermanentWidget(m_cancel);

    buildActions();
    buildModelChooser();

    connect(m_sentence, &QLineEdit::textEdited, m_document, &AttentionDocument::editText);
    connect(m_pair, &QLineEdit::textEdited, m_document, &AttentionDocument::editTextPair);
    connect(m_attentionKind, &QComboBox::activated, this, [this] {
        m_document->selectAttentionKind(AttentionKind(m_attentionKind->currentData().toInt()));
    });
    connect(m_translate, &QToolButton::clicked, this, [this] {
        if (m_document->isGenerating())
            m_document->stopGenerating();
        else
            m_document->translate(kMaxTranslatedTokens);
    });
    connect(m_document, &AttentionDocument::generationChanged, this, [this] {
        m_translate->setText(m_document->isGenerating() && m_document->isTranslation() ? tr("Stop") : tr("Translate"));
    });
    connect(m_document, &AttentionDocument::generationStopped, this, [this](const QString &reason) {
        if (m_document->isTranslation())
            showMessage(tr("Translation stopped: %1.").arg(reason), false);
    });
    connect(m_document, &AttentionDocument::attentionKindChanged, this, &MainWindow::syncFromDocument);
    connect(m_samples, &QComboBox::activated, this, [this](int index) {
        if (index > 0)
            m_document->editText(m_samples->itemText(index));
        const QSignalBlocker block(m_samples);
        m_samples->setCurrentIndex(0);
    });
    connect(m_headChooser, &QComboBox::activated, this, [this](int index) {
        const int heads = std::max(1, m_document->result().heads);
        m_document->selectHead(index / heads, index % heads);
    });
    connect(m_leaveOutSpecial, &QCheckBox::toggled, m_heatmap, &HeatmapView::setLeaveOutSpecial);
    auto updateSpecialSwitch = [this] {
        const auto stage = HeatmapStage(m_heatmapStage->currentData().toInt());
        m_leaveOutSpecial->setVisible(m_document->result().hasSpecialTokens()
                                      && (stage == HeatmapStage::Weights || stage == HeatmapStage::ValueWeighted));
    };
    connect(m_document, &AttentionDocument::resultChanged, this, updateSpecialSwitch);
    connect(m_heatmapStage, &QComboBox::currentIndexChanged, this, updateSpecialSwitch);
    updateSpecialSwitch();
    connect(m_heatmapStage, &QComboBox::currentIndexChanged, this, [this] {
        m_heatmap->setStage(HeatmapStage(m_heatmapStage->currentData().toInt()));
        setExportTarget(m_heatmap);
    });
    connect(m_document, &AttentionDocument::resultChanged, this, &MainWindow::syncFromDocument);
    for (auto change : {&AttentionDocument::workspaceChanged, &AttentionDocument::headSelected,
                        &AttentionDocument::querySelected, &AttentionDocument::stageChanged})
        connect(m_document, change, this, &MainWindow::syncFromDocument);
    connect(m_document, &AttentionDocument::modelChanged, this, &MainWindow::syncFromDocument);
    connect(m_document, &AttentionDocument::fileChanged, this, &MainWindow::syncTitle);
    connect(m_document->undoStack(), &QUndoStack::cleanChanged, this, &MainWindow::syncTitle);
    connect(m_document, &AttentionDocument::noticeChanged, this, [this](const QString &notice) { showMessage(notice, false); });
    connect(m_document, &AttentionDocument::workspaceChanged, this, &MainWindow::clearErrorAfterSuccess);
    connect(m_document, &AttentionDocument::modelChanged, this, &MainWindow::clearErrorAfterSuccess);
    connect(m_document, &AttentionDocument::modelFailed, this, [this](const QString &message) {
        showMessage(tr("Could not open the model: %1").arg(message), true);
        syncFromDocument();
    });
    connect(m_document, &AttentionDocument::busyChanged, this, [this](bool busy) {
        m_progress->setVisible(busy);
        m_cancel->setVisible(busy);
        m_progress->setRange(0, 0);
        if (busy)
            m_status->setText(tr("Working…"));
    });
    connect(m_document, &AttentionDocument::progressChanged, this, [this](int done, int total) {
        m_progress->setRange(0, total);
        m_progress->setValue(done);
    });
    connect(m_cancel, &QToolButton::clicked, m_document, &AttentionDocument::cancel);
    connect(m_scenes, &ScenesPanel::presentRequested, this, &MainWindow::startPresenting);
    connect(m_document, &AttentionDocument::sceneViewRequested, this, [this](const QString &view) {
        // The scene's view in front: its dock raised (the heatmap is always in front).
        if (const std::optional<FigureKind> kind = figureKindFromName(view); kind && *kind != FigureKind::Heatmap) {
            auto *widget = dynamic_cast<QWidget *>(figureView(*kind));
            for (QWidget *w = widget; w; w = w->parentWidget())
                if (auto *dock = qobject_cast<QDockWidget *>(w)) {
                    dock->show();
                    dock->raise();
                    break;
                }
            setExportTarget(widget);
        }
    });
    connect(m_options, &ViewOptions::changed, this, [this] {
        preferences::colorMap.set(colorMapName(m_options->colorMap()));
        preferences::showNumbers.set(m_options->showNumbers());
        preferences::fontSize.set(m_options->fontSize());
    });
    // Remember which view the user last worked in, for "Export view".
    // The view the user last worked in, by focus or by a click (views that take no focus, like
    // the head view's drawing, count too), is what Export view writes; the menu names it.
    connect(qApp, &QApplication::focusChanged, this, [this](QWidget *, QWidget *now) { setExportTarget(now); });
    qApp->installEventFilter(this);

    setMinimumSize(760, 520);
    if (const QScreen *screen = QGuiApplication::primaryScreen())
        resize(screen->availableSize() * 0.92);
    restoreGeometry(preferences::windowGeometry.get());
    restoreState(preferences::windowState.get());
    syncFromDocument();
    syncTitle();
}

MainWindow::~MainWindow()
{
    // The document and its undo stack outlive this class's part of the object while QWidget tears
    // the children down; nothing they emit then may reach this window's slots.
    m_document->undoStack()->disconnect(this);
    m_document->disconnect(this);
    m_options->disconnect(this);
    qApp->disconnect(this);
}

void MainWindow::buildActions()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&New"), QKeySequence::New, this, [this] {
        if (confirmDiscard())
            m_document->newWorkspace();
    });
    file->addAction(tr("&Open workspace…"), QKeySequence::Open, this, &MainWindow::open);
    m_recentMenu = file->addMenu(tr("Open &recent"));
    rebuildRecentMenu();
    file->addAction(tr("&Save"), QKeySequence::Save, this, &MainWindow::save);
    file->addAction(tr("Save &as…"), QKeySequence::SaveAs, this, &MainWindow::saveAs);
    file->addSeparator();
    file->addAction(tr("Open &model folder…"), QKeySequence(tr("Ctrl+M")), this, &MainWindow::chooseModelFolder);
    file->addAction(tr("&Download a model from Hugging Face…"), this, &MainWindow::showDownloadDialog);
    file->addAction(tr("Use the &teaching model"), this, [this] { m_document->useTeachingModel(); });
    file->addSeparator();
    m_exportView = file->addAction(tr("&Export view…"), QKeySequence(tr("Ctrl+E")), this, [this] {
        if (FigureView *view = activeFigureView())
            if (const Status exported = exportViewInteractively(this, *view); !exported)
                showMessage(exported.error, true);
    });
    m_exportView->setObjectName(QStringLiteral("exportView"));
    setExportTarget(m_lastFigureView ? m_lastFigureView : m_heatmap);
    file->addAction(tr("Export &all heads…"), this, [this] {
        if (const Status exported = exportAllHeadsInteractively(this, *m_document, *m_options); !exported)
            showMessage(exported.error, true);
    });
    file->addAction(tr("Export &handout (PDF)…"), this, [this] {
        if (const Status exported = exportHandoutInteractively(this, *m_document); !exported)
            showMessage(exported.error, true);
    })->setObjectName(QStringLiteral("exportHandout"));
    file->addAction(tr("Export &matrices (CSV, JSON)…"), this, [this] {
        if (const Status exported = exportMatricesInteractively(this, *m_document); !exported)
            showMessage(exported.error, true);
    });
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    QMenu *edit = menuBar()->addMenu(tr("&Edit"));
    QAction *undo = m_document->undoStack()->createUndoAction(this, tr("&Undo"));
    undo->setShortcut(QKeySequence::Undo);
    QAction *redo = m_document->undoStack()->createRedoAction(this, tr("&Redo"));
    redo->setShortcut(QKeySequence::Redo);
    edit->addAction(undo);
    edit->addAction(redo);

    QMenu *view = menuBar()->addMenu(tr("&View"));
    for (QDockWidget *dock : findChildren<QDockWidget *>())
        view->addAction(dock->toggleViewAction());
    view->addSeparator();
    view->addAction(tr("Larger text"), QKeySequence::ZoomIn, this, [this] { m_options->setFontSize(m_options->fontSize() + 2); });
    view->addAction(tr("Smaller text"), QKeySequence::ZoomOut, this, [this] { m_options->setFontSize(m_options->fontSize() - 2); });
    view->addSeparator();
    view->addAction(tr("&Presenter mode"), QKeySequence(Qt::Key_F5), this, &MainWindow::startPresenting);
    view->addSeparator();
    view->addAction(tr("Next stage"), QKeySequence(Qt::CTRL | Qt::Key_BracketRight), m_steps, &StepThroughView::next);
    view->addAction(tr("Previous stage"), QKeySequence(Qt::CTRL | Qt::Key_BracketLeft), m_steps, &StepThroughView::previous);

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&Quick start"), QKeySequence::HelpContents, this, [this] { showHelpPage(QStringLiteral("quickStart"), tr("Quick start"), quickStartHtml()); });
    help->addAction(tr("&Keyboard shortcuts"), this, [this] { showHelpPage(QStringLiteral("shortcuts"), tr("Keyboard shortcuts"), shortcutsHtml(menuBar())); });
    help->addSeparator();
    help->addAction(tr("&About Attention Studio"), this, [this] {
        QMessageBox::about(this, tr("About Attention Studio"),
                           tr("<p><b>Attention Studio %1</b></p><p>Makes self-attention visible: every stage of every head, for the "
                              "teaching model and for GPT-2, BERT, Llama, Mistral and Qwen2 checkpoints.</p>").arg(QApplication::applicationVersion()));
    });
}

void MainWindow::showHelpPage(const QString &name, const QString &title, const QString &html)
{
    // Non-modal, so the page can stay open beside the window while the user tries it out.
    auto *page = findChild<QDialog *>(name);
    if (!page) {
        page = new QDialog(this);
        page->setObjectName(name);
        page->setWindowTitle(title);
        auto *text = new QTextBrowser(page);
        text->setObjectName(QStringLiteral("text"));
        text->setOpenExternalLinks(true);
        auto *layout = new QVBoxLayout(page);
        layout->addWidget(text);
        auto *close = new QDialogButtonBox(QDialogButtonBox::Close, page);
        connect(close, &QDialogButtonBox::rejected, page, &QDialog::hide);
        layout->addWidget(close);
        page->resize(640, 520);
    }
    page->findChild<QTextBrowser *>(QStringLiteral("text"))->setHtml(html);
    page->show();
    page->raise();
}

void MainWindow::buildModelChooser()
{
    fillModelChooser();
    connect(m_model, &QComboBox::activated, this, [this](int index) {
        const QString directory = m_model->itemData(index).toString();
        if (directory.isEmpty()) {
            m_document->useTeachingModel();
        } else if (directory == kOpenFolderItem) {
            syncFromDocument(); // the box shows the current model until another opens
            chooseModelFolder();
        } else if (directory == kDownloadItem) {
            syncFromDocument();
            showDownloadDialog();
        } else {
            m_document->openModel(directory);
        }
    });
}

void MainWindow::fillModelChooser()
{
    const QSignalBlocker block(m_model);
    m_model->clear();
    m_model->addItem(tr("Teaching model"), QString());
    for (const CachedModel &model : listCachedModels())
        m_model->addItem(model.name, model.directory);
    m_model->addItem(tr("Open model folder…"), kOpenFolderItem);
    m_model->addItem(tr("Download from Hugging Face…"), kDownloadItem);
}

PresenterWindow *MainWindow::presenter() const
{
    return m_presenter;
}

void MainWindow::startPresenting()
{
    if (m_presenter) {
        m_presenter->raise();
        m_presenter->activateWindow();
        return;
    }
    m_presenter = new PresenterWindow(m_document, m_options, this);
    // On the screen the window is on (a projector is often the second screen: move the window there).
    if (QScreen *screen = this->screen())
        m_presenter->setGeometry(screen->geometry());
    m_presenter->showFullScreen();
    m_presenter->activateWindow();
}

void MainWindow::chooseModelFolder()
{
    // Model folders are remembered apart from workspaces: saving a lesson must not start inside
    // the Hugging Face cache.
    const QString folder = QFileDialog::getExistingDirectory(this, tr("Open a Hugging Face model folder"), preferences::lastModelFolder.get());
    if (folder.isEmpty())
        return;
    preferences::lastModelFolder.set(folder);
    m_document->openModel(folder);
}

void MainWindow::showDownloadDialog()
{
    if (!m_downloadDialog) {
        m_downloadDialog = new DownloadDialog(HubSettings::fromEnvironment(), this);
        connect(m_downloadDialog, &DownloadDialog::downloaded, this, [this](const QString &snapshot) {
            fillModelChooser();
            m_document->openModel(snapshot);
        });
    }
    m_downloadDialog->show();
    m_downloadDialog->raise();
    m_downloadDialog->activateWindow();
}

void MainWindow::syncFromDocument()
{
    const QSignalBlocker b1(m_sentence), b2(m_pair), b3(m_headChooser), b4(m_model), b5(m_attentionKind);
    if (m_sentence->text() != m_document->workspace().text)
        m_sentence->setText(m_document->workspace().text);
    if (m_pair->text() != m_document->textPair())
        m_pair->setText(m_document->textPair());
    const bool translation = m_document->isTranslation();
    const bool pairs = (m_document->checkpoint() && m_document->checkpoint()->tokenizer->takesPairs()) || translation;
    m_pair->setVisible(pairs);
    m_pair->setPlaceholderText(translation ? tr("Target (type it, or press Translate)") : tr("Second sentence (optional)"));
    m_pair->setToolTip(translation ? tr("The translation the decoder reads (teacher forcing): each target token sees the source and the target tokens before it")
                                   : tr("BERT reads sentence pairs: [CLS] first [SEP] second [SEP]."));
    m_sentenceLabel->setText(translation ? tr("&Source:") : tr("&Sentence:"));
    m_translate->setVisible(translation);
    m_attentionKind->setVisible(translation);
    m_attentionKind->setCurrentIndex(m_attentionKind->findData(int(m_document->attentionKind())));

    // Model chooser shows the current model.
    const QString directory = m_document->modelFolder();
    int modelIndex = m_model->findData(directory);
    if (modelIndex < 0) {
        m_model->insertItem(m_model->findData(kOpenFolderItem),
                            m_document->checkpoint() ? m_document->checkpoint()->name : m_document->translationModel()->name, directory);
        modelIndex = m_model->findData(directory);
    }
    m_model->setCurrentIndex(modelIndex);

    const AttentionResult &result = m_document->result();
    // Grouped heads also name the key/value head they share.
    const bool grouped = result.kvHeads > 0 && result.kvHeads < result.heads;
    QStringList headLabels;
    for (int l = 0; l < result.layers; ++l)
        for (int h = 0; h < result.heads; ++h)
            headLabels.append(m_document->isTeaching() ? QStringLiteral("%1 · %2").arg(h).arg(m_document->headName(l, h))
                              : grouped ? tr("layer %1 · head %2 · kv %3").arg(l).arg(h).arg(result.kvHeadOf(h))
                                        : tr("layer %1 · head %2").arg(l).arg(h));
    QStringList shown;
    for (int i = 0; i < m_headChooser->count(); ++i)
        shown.append(m_headChooser->itemText(i));
    if (shown != headLabels) {
        const QSignalBlocker blocker(m_headChooser);
        m_headChooser->clear();
        m_headChooser->addItems(headLabels);
    }
    m_headChooser->setCurrentIndex(m_document->selectedLayer() * result.heads + m_document->selectedHead());
    if (!m_document->isBusy()) {
        const int query = m_document->selectedQuery();
        const QString tokens = m_document->isTranslation()
            ? tr("%1 → %2").arg(countText(m_document->sourceTokenCount(), tr("source token"), tr("source tokens")),
                                countText(m_document->targetTokenCount(), tr("target token"), tr("target tokens")))
            : countText(result.tokenCount(), tr("token"), tr("tokens"));
        m_status->setText(tr("%1 · %2%3").arg(tokens, m_document->modelDescription())
                              .arg(query >= 0 ? tr(" · query %1 “%2”").arg(query).arg(result.labels.value(query)) : QString()));
        const bool approximate = result.precision == Precision::Bf16;
        m_precisionLabel->setVisible(approximate);
        if (approximate) {
            m_precisionLabel->setText(tr("bf16 · weights within ±%1 of fp32").arg(result.maxDeviation, 0, 'g', 2));
            m_precisionLabel->setToolTip(tr("The linear layers ran in bfloat16 (8 significant bits). Every attention weight shown is within "
                                            "%1 of the exact fp32 run of this sentence (its largest deviation). Choose fp32 under "
                                            "Precision for exact numbers.").arg(result.maxDeviation, 0, 'g', 3));
        }
    }
}

void MainWindow::syncTitle()
{
    const QString name = m_document->currentFile().isEmpty() ? tr("Untitled") : QFileInfo(m_document->currentFile()).fileName();
    setWindowTitle(tr("%1[*] — Attention Studio").arg(name));
    setWindowModified(m_document->isModified());
}

void MainWindow::showMessage(const QString &message, bool error)
{
    m_notice->setText(message);
    m_notice->setStyleSheet(error ? QStringLiteral("color: #b00020;") : QString());
    m_errorShown = error && !message.isEmpty();
}

void MainWindow::clearErrorAfterSuccess()
{
    // An error stays until the user does something that works; then the document's own notice (a
    // cut text, say), if any, takes its place.
    if (m_errorShown)
        showMessage(m_document->result().notice, false);
}

FigureView *MainWindow::figureView(FigureKind kind) const
{
    switch (kind) {
    case FigureKind::Heatmap: return m_heatmap;
    case FigureKind::Arcs: return m_arcs;
    case FigureKind::Grid: return m_grid;
    case FigureKind::Steps: return m_steps;
    case FigureKind::Comparison: return m_comparison->view();
    }
    Q_UNREACHABLE();
}

bool MainWindow::eventFilter(QObject *watched, QEvent *event)
{
    if (event->type() == QEvent::MouseButtonPress)
        if (auto *widget = qobject_cast<QWidget *>(watched); widget && widget->window() == this)
            setExportTarget(widget);
    return QMainWindow::eventFilter(watched, event);
}

void MainWindow::setExportTarget(QWidget *widget)
{
    for (QWidget *w = widget; w; w = w->parentWidget())
        if (auto *view = dynamic_cast<FigureView *>(w)) {
            m_lastFigureView = w;
            if (m_exportView)
                m_exportView->setText(tr("&Export %1…").arg(figureKindTitle(view->figureKind())));
            return;
        }
}

FigureView *MainWindow::activeFigureView() const
{
    if (auto *view = dynamic_cast<FigureView *>(m_lastFigureView))
        return view;
    return m_heatmap;
}

void MainWindow::rebuildRecentMenu()
{
    m_recentMenu->clear();
    const QStringList files = preferences::recentFiles.get();
    for (const QString &path : files)
        m_recentMenu->addAction(QFileInfo(path).fileName(), this, [this, path] { openPath(path); })->setToolTip(path);
    m_recentMenu->setEnabled(!files.isEmpty());
}

void MainWindow::addRecentFile(const QString &path)
{
    QStringList files = preferences::recentFiles.get();
    files.removeAll(path);
    files.prepend(path);
    while (files.size() > preferences::kMaxRecentFiles)
        files.removeLast();
    preferences::recentFiles.set(files);
    rebuildRecentMenu();
}

void MainWindow::openPath(const QString &path)
{
    if (QFileInfo(path).isDir()) {
        m_document->openModel(path);
        return;
    }
    if (!confirmDiscard())
        return;
    if (const Status opened = m_document->openWorkspace(path); !opened) {
        showMessage(opened.error, true);
        return;
    }
    addRecentFile(QFileInfo(path).absoluteFilePath());
    showMessage(tr("Opened %1").arg(QFileInfo(path).fileName()), false);
}

void MainWindow::open()
{
    const QString path = QFileDialog::getOpenFileName(this, tr("Open workspace"), preferences::lastFolder.get(),
                                                      tr("Attention Studio workspaces (*.attention.json *.json);;All files (*)"));
    if (path.isEmpty())
        return;
    preferences::lastFolder.set(QFileInfo(path).absolutePath());
    openPath(path);
}

bool MainWindow::save()
{
    if (m_document->currentFile().isEmpty())
        return saveAs();
    SaveReport report = m_document->saveWorkspaceAs(m_document->currentFile());
    if (report.outcome == SaveOutcome::Conflict) {
        const auto answer = QMessageBox::question(this, tr("File changed elsewhere"),
                                                  tr("%1\n\nOverwrite it with this window's workspace?").arg(report.error),
                                                  QMessageBox::Yes | QMessageBox::Cancel, QMessageBox::Cancel);
        if (answer != QMessageBox::Yes)
            return false;
        report = m_document->saveWorkspaceAs(m_document->currentFile(), true);
    }
    if (!report) {
        QMessageBox::warning(this, tr("Save failed"), tr("%1\n\nYour work is still open; the file on disk was not changed.").arg(report.error));
        return false;
    }
    showMessage(tr("Saved %1").arg(QFileInfo(m_document->currentFile()).fileName()), false);
    return true;
}

bool MainWindow::saveAs()
{
    const QString suggested = m_document->currentFile().isEmpty() ? QDir(preferences::lastFolder.get()).filePath(tr("workspace") + QStringLiteral(".attention.json"))
                                                                  : m_document->currentFile();
    QString path = QFileDialog::getSaveFileName(this, tr("Save workspace"), suggested, tr("Attention Studio workspaces (*.attention.json *.json)"));
    if (path.isEmpty())
        return false;
    // .attention.json: the desktop knows the file as a workspace (double-click opens it here).
    if (QFileInfo(path).suffix().isEmpty())
        path += QStringLiteral(".attention.json");
    preferences::lastFolder.set(QFileInfo(path).absolutePath());
    if (const SaveReport report = m_document->saveWorkspaceAs(path); !report) {
        QMessageBox::warning(this, tr("Save failed"), tr("%1\n\nYour work is still open; the file on disk was not changed.").arg(report.error));
        return false;
    }
    addRecentFile(m_document->currentFile());
    showMessage(tr("Saved %1").arg(QFileInfo(path).fileName()), false);
    return true;
}

bool MainWindow::confirmDiscard()
{
    if (!m_document->isModified())
        return true;
    const auto answer = QMessageBox::question(this, tr("Unsaved changes"), tr("The workspace has unsaved changes. Save them first?"),
                                              QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, QMessageBox::Save);
    if (answer == QMessageBox::Save)
        return save();
    if (answer == QMessageBox::Discard) {
        m_document->discardAutosave();
        return true;
    }
    return false;
}

void MainWindow::offerRecovery()
{
    const QStringList files = Autosave::recoverable();
    if (files.isEmpty())
        return;
    const QString when = QFileInfo(files.first()).lastModified().toString(QStringLiteral("yyyy-MM-dd hh:mm"));
    const QString file = Autosave::sourceOf(files.first()).file;
    const auto answer = QMessageBox::question(
        this, tr("Recover unsaved work"),
        file.isEmpty() ? tr("Attention Studio found unsaved work from a session that ended unexpectedly (%1). Restore it?").arg(when)
                       : tr("Attention Studio found unsaved changes to %1 from a session that ended unexpectedly (%2). Restore them?")
                             .arg(QFileInfo(file).fileName(), when),
        QMessageBox::Yes | QMessageBox::Discard, QMessageBox::Yes);
    if (answer != QMessageBox::Yes) {
        Autosave::discard(files.first());
        return;
    }
    if (const Status recovered = m_document->recoverFrom(files.first()); !recovered) {
        showMessage(tr("The unsaved work could not be recovered: %1").arg(recovered.error), true);
        return;
    }
    showMessage(tr("Recovered unsaved work. Save it to keep it."), false);
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    if (!confirmDiscard()) {
        event->ignore();
        return;
    }
    preferences::windowGeometry.set(saveGeometry());
    preferences::windowState.set(saveState());
    event->accept();
}

} // namespace studio

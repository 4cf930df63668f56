#pragma once

#include "figurekind.h"

#include <QMainWindow>
#include <QPointer>

class QAction;
class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QMenu;
class QProgressBar;
class QToolButton;

namespace studio {

class ArcView;
class AttentionDocument;
class ControlsPanel;
class DistributionChart;
class DownloadDialog;
class FigureView;
class HeatmapView;
class ModelGridView;
class StepThroughView;
class ViewOptions;
class WeightEditor;

// Wires the document, the docks and the actions together. Behaviour lives in the document and
// the views.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;
    AttentionDocument *document() const { return m_document; }
    ViewOptions *viewOptions() const { return m_options; }
    HeatmapView *heatmap() const { return m_heatmap; }
    ArcView *arcs() const { return m_arcs; }
    ModelGridView *grid() const { return m_grid; }
    StepThroughView *steps() const { return m_steps; }
    FigureView *figureView(FigureKind kind) const;
    WeightEditor *weights() const { return m_weights; }
    DistributionChart *chart() const { return m_chart; }
    class ScenesPanel *scenes() const { return m_scenes; }

    // Opens a file or model folder given on the command line.
    void openPath(const QString &path);
    // Model box ▸ Download from Hugging Face…: one dialog, kept while a download runs.
    void showDownloadDialog();
    DownloadDialog *downloadDialog() const { return m_downloadDialog; }
    // View ▸ Presenter mode (F5): full screen on this window's screen; Esc there leaves.
    void startPresenting();
    class PresenterWindow *presenter() const;
    // Asks to save unsaved changes; false when the user cancels.
    bool confirmDiscard();
    // Offers back the autosave of a session that crashed or was killed.
    void offerRecovery();

protected:
    void closeEvent(QCloseEvent *event) override;
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    void buildActions();
    void buildModelChooser();
    void fillModelChooser();
    void chooseModelFolder();
    void syncFromDocument();
    void syncTitle();
    void rebuildRecentMenu();
    void addRecentFile(const QString &path);
    void open();
    bool save();
    bool saveAs();
    void showMessage(const QString &message, bool error);
    void clearErrorAfterSuccess();
    void setExportTarget(QWidget *widget); // the FigureView it is in, if any
    void showHelpPage(const QString &name, const QString &title, const QString &html);
    FigureView *activeFigureView() const;

    AttentionDocument *m_document;
    ViewOptions *m_options;
    QLineEdit *m_sentence;
    QLineEdit *m_pair;
    class QLabel *m_sentenceLabel;
    QComboBox *m_attentionKind;    // translation models: encoder, decoder or cross-attention
    class QToolButton *m_translate; // translation models: Translate, and Stop while it runs
    QComboBox *m_samples;
    QComboBox *m_model;
    HeatmapView *m_heatmap;
    ArcView *m_arcs;
    ModelGridView *m_grid;
    StepThroughView *m_steps;
    WeightEditor *m_weights;
    DistributionChart *m_chart;
    ControlsPanel *m_controls;
    class PredictionPanel *m_prediction = nullptr;
    class ComparisonPanel *m_comparison = nullptr;
    class ScenesPanel *m_scenes = nullptr;
    DownloadDialog *m_downloadDialog = nullptr;
    bool m_errorShown = false;
    QAction *m_exportView = nullptr;
    QPointer<class PresenterWindow> m_presenter;
    QComboBox *m_headChooser;
    QComboBox *m_heatmapStage;
    QCheckBox *m_leaveOutSpecial;
    QMenu *m_recentMenu;
    QLabel *m_status;
    QLabel *m_notice;
    QLabel *m_precisionLabel;
    QProgressBar *m_progress;
    QToolButton *m_cancel;
    QWidget *m_lastFigureView = nullptr;
};

} // namespace studio

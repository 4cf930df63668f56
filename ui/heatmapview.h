#pragma once

#include "figures.h"
#include "figureview.h"

#include <QWidget>

namespace studio {

class AttentionDocument;
class ViewOptions;

// Heatmap of the selected head (queries × keys). Hover shows the exact value and where it comes
// from; click selects the query row; Ctrl+click on a key hides it (click-to-mask); arrow keys move
// the query selection.
class HeatmapView : public QWidget, public FigureView {
    Q_OBJECT
public:
    // What the view says when it has no matrix to draw (nothing typed, or why the text gives none).
    QString placeholderText() const;
    HeatmapView(AttentionDocument *document, ViewOptions *options, QWidget *parent = nullptr);

    void setStage(HeatmapStage stage);
    HeatmapStage stage() const { return m_stage; }
    // The display transform that leaves special tokens out (weights and value-weighted).
    void setLeaveOutSpecial(bool on);
    bool leavesOutSpecial() const { return m_leaveOutSpecial; }
    HeatmapExtras extras() const;
    const HeatmapFigure &figure() const { return m_figure; }
    HeatmapStyle style() const;       // the chosen text size (exports)
    HeatmapStyle screenStyle() const { return m_screenStyle; } // fitted to the view's size (on screen)
    QString numbersNote() const { return m_numbersNote; }     // why numbers are missing, if they are
    // The tooltip of a cell: its value and where it comes from, with the numbers written in.
    QString explain(int row, int col) const;
    HeatmapLayout currentLayout() const;

    FigureKind figureKind() const override { return FigureKind::Heatmap; }
    void updateFigure() override {} // rebuilt on every change
    QSizeF figureSize() const override;
    void paintFigure(QPainter &painter, const QRectF &area) const override;

    QSize minimumSizeHint() const override { return {260, 240}; }
    QSize sizeHint() const override { return {620, 560}; }

Q_SIGNALS:
    void numbersNoteChanged(const QString &note);

protected:
    void paintEvent(QPaintEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void keyPressEvent(QKeyEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    bool event(QEvent *event) override;

private:
    void rebuild();
    void updateNumbersNote();

    AttentionDocument *m_document;
    ViewOptions *m_options;
    HeatmapFigure m_figure;
    HeatmapCache m_cache; // body image and margins, rebuilt with the figure
    HeatmapStyle m_screenStyle;
    QString m_numbersNote;
    HeatmapStage m_stage = HeatmapStage::Weights;
    bool m_leaveOutSpecial = false;
    // The rollout of every layer of one result, kept while that result is shown.
    std::pair<SharedResult, std::shared_ptr<const std::vector<Matrix>>> m_rollout;
};

} // namespace studio

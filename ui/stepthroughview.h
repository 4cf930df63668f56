#pragma once

#include "figures.h"
#include "figureview.h"

#include <QWidget>

class QButtonGroup;
class QComboBox;
class QLabel;
class QTextBrowser;

namespace studio {

class AttentionDocument;
class ViewOptions;

// A matrix painted as a heatmap with numbers; clicks select the cell's row (query) and column.
class MatrixCanvas : public QWidget {
    Q_OBJECT
public:
    explicit MatrixCanvas(ViewOptions *options, QWidget *parent = nullptr);
    void setFigure(const HeatmapFigure &figure);
    const HeatmapFigure &figure() const { return m_figure; }
    HeatmapStyle style() const;       // the chosen text size (exports)
    HeatmapStyle screenStyle() const { return m_screenStyle; } // as drawn in the pane
    // A font size and label width of its own (presenter mode); 0 keeps the window's.
    void setSizing(int fontPixels, double labelWidth);
    QSize minimumSizeHint() const override { return {200, 160}; }

Q_SIGNALS:
    void cellClicked(int row, int col);

protected:
    void paintEvent(QPaintEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;

private:
    HeatmapFigure shownFigure() const;
    void refit();
    ViewOptions *m_options;
    HeatmapFigure m_figure;
    int m_fontPixels = 0;
    double m_labelWidth = 0;
    HeatmapStyle m_screenStyle;
};

// Walks the selected head stage by stage: embeddings → Q, K, V → QKᵀ → ÷√d_k → mask → softmax →
// weights·V, with the formula, the matrix, and the arithmetic for the selected query written out.
class StepThroughView : public QWidget, public FigureView {
    Q_OBJECT
public:
    StepThroughView(AttentionDocument *document, ViewOptions *options, QWidget *parent = nullptr);
    QString formulaText() const;
    QString explanationHtml() const;
    MatrixCanvas *canvas() const { return m_canvas; }

    FigureKind figureKind() const override { return FigureKind::Steps; }
    void updateFigure() override;
    QSizeF figureSize() const override;
    void paintFigure(QPainter &painter, const QRectF &area) const override;

public Q_SLOTS:
    void next();
    void previous();

private:
    void rebuild();
    HeatmapFigure exportedFigure() const; // the matrix with the formula in its caption
    Projection selectedProjection() const;

    AttentionDocument *m_document;
    ViewOptions *m_options;
    QButtonGroup *m_stages;
    QLabel *m_formula;
    QComboBox *m_projection;
    MatrixCanvas *m_canvas;
    QTextBrowser *m_explanation;
    class DeferredRebuild *m_deferred;
};

} // namespace studio

#pragma once

#include "figures.h"
#include "figureview.h"

#include <QImage>
#include <QWidget>

class QCheckBox;
class QDoubleSpinBox;
class QHBoxLayout;
class QLabel;
class QSpinBox;

namespace studio {

class AttentionDocument;
class ViewOptions;

// The head view: queries on the left, keys on the right, one line per (query, key) pair coloured
// by head with strength by weight. Hover a token to see only its lines; switch heads on and off;
// prune by threshold and top-k. The unchanged picture is cached as an image, so a hover repaints
// only the few lines it highlights.
class ArcCanvas : public QWidget {
    Q_OBJECT
public:
    ArcCanvas(AttentionDocument *document, ViewOptions *options, QWidget *parent = nullptr);
    void setFigure(const ArcFigure &figure);
    const ArcFigure &figure() const { return m_figure; }
    int hiddenLines() const { return m_pruned.hidden; }
    int shownLines() const { return int(m_pruned.lines.size()); }
    const PrunedArcs *pruned() const { return &m_pruned; }
    int focusToken() const { return m_focus; }

protected:
    void paintEvent(QPaintEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void leaveEvent(QEvent *event) override;

private:
    void renderCache();
    ArcLayout layout() const;
    ArcFigure shownFigure() const; // the figure as drawn in the window
    bool m_cacheValid = false;

    AttentionDocument *m_document;
    ViewOptions *m_options;
    ArcFigure m_figure;
    QImage m_cache;
    PrunedArcs m_pruned; // of m_figure, computed once per figure
    int m_focus = -1;
    bool m_focusIsQuery = true;
};

class DeferredRebuild;

class ArcView : public QWidget, public FigureView {
    Q_OBJECT
public:
    ArcView(AttentionDocument *document, ViewOptions *options, QWidget *parent = nullptr);
    ArcCanvas *canvas() const { return m_canvas; }
    QList<int> visibleHeads() const;

    FigureKind figureKind() const override { return FigureKind::Arcs; }
    void updateFigure() override;
    QSizeF figureSize() const override;
    void paintFigure(QPainter &painter, const QRectF &area) const override;

private:
    void rebuildHeads();
    void rebuild();

    AttentionDocument *m_document;
    ViewOptions *m_options;
    ArcCanvas *m_canvas;
    QHBoxLayout *m_headBoxes;
    QList<QCheckBox *> m_heads;
    QDoubleSpinBox *m_threshold;
    QSpinBox *m_topK;
    QLabel *m_status;
    DeferredRebuild *m_deferred;
};

} // namespace studio

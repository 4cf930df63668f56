#pragma once

#include "figures.h"
#include "figureview.h"

#include <QWidget>

namespace studio {

class AttentionDocument;
class ViewOptions;

// Every layer × head as a small heatmap, plus the mean and max of each layer's heads. Clicking a
// head selects it in every view. Thumbnails are cached images, rebuilt only when the result or the
// colour map changes: for a large result on a worker (the cells stay blank until they arrive), so
// showing the view never holds up the window.
class ModelGridView : public QWidget, public FigureView {
    Q_OBJECT
public:
    ModelGridView(AttentionDocument *document, ViewOptions *options, QWidget *parent = nullptr);
    GridLayout currentLayout() const;

    FigureKind figureKind() const override { return FigureKind::Grid; }
    void updateFigure() override;
    QSizeF figureSize() const override;
    void paintFigure(QPainter &painter, const QRectF &area) const override;
    QSize minimumSizeHint() const override { return {200, 160}; }

protected:
    void paintEvent(QPaintEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    bool event(QEvent *event) override;

private:
    void rebuild(bool thumbnails);

    AttentionDocument *m_document;
    ViewOptions *m_options;
    GridFigure m_figure;
    std::vector<std::vector<QImage>> m_thumbnails;
    class DeferredRebuild *m_deferred;
    bool m_thumbnailsStale = true;
    quint64 m_thumbnailGeneration = 0; // the latest request; older workers' images are dropped
    bool m_thumbnailsPending = false;  // a worker is making the current figure's thumbnails
};

} // namespace studio

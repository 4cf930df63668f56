#pragma once

#include "figures.h"
#include "figureview.h"

#include <QWidget>

class QLabel;
class QLineEdit;
class QTreeWidget;

namespace studio {

class AttentionDocument;
class DeferredRebuild;
class ViewOptions;

// The difference of the selected head's weights between the two sentences, B − A on the aligned
// tokens. Exported like every view.
class ComparisonView : public QWidget, public FigureView {
    Q_OBJECT
public:
    ComparisonView(AttentionDocument *document, ViewOptions *options, QWidget *parent = nullptr);
    const HeatmapFigure &figure() const { return m_figure; }

    FigureKind figureKind() const override { return FigureKind::Comparison; }
    void updateFigure() override;
    QSizeF figureSize() const override;
    void paintFigure(QPainter &painter, const QRectF &area) const override;
    QSize sizeHint() const override { return {420, 380}; }

protected:
    void paintEvent(QPaintEvent *event) override;

private:
    void rebuild();
    HeatmapStyle style() const;

    AttentionDocument *m_document;
    ViewOptions *m_options;
    HeatmapFigure m_figure;
    DeferredRebuild *m_deferred;
};

// Compare: a second sentence run on the same model; its tokens aligned with the first's, each
// head's divergence (the heads that changed most listed first, and marked in the model view), and
// the difference heatmap of the selected head.
class ComparisonPanel : public QWidget {
    Q_OBJECT
public:
    ComparisonPanel(AttentionDocument *document, ViewOptions *options, QWidget *parent = nullptr);
    ComparisonView *view() const { return m_view; }
    QString summary() const;

private:
    void sync();

    AttentionDocument *m_document;
    QLineEdit *m_text;
    QLabel *m_summary;
    QTreeWidget *m_heads;
    ComparisonView *m_view;
};

} // namespace studio

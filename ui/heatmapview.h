#pragma once

#include "colormap.h"
#include "figures.h"

#include <QImage>
#include <QWidget>

namespace studio {

class AttentionDocument;

// Heatmap of the selected head: hover shows the exact value, click selects the query row.
class HeatmapView : public QWidget {
    Q_OBJECT
public:
    explicit HeatmapView(AttentionDocument *document, QWidget *parent = nullptr);

    void setStage(HeatmapStage stage);
    HeatmapStage stage() const { return m_stage; }
    void setColorMap(ColorMapKind kind);
    void setShowNumbers(bool show);
    // The figure exactly as shown (selection included), for export.
    const HeatmapFigure &figure() const { return m_figure; }
    HeatmapStyle style() const;

    QSize minimumSizeHint() const override { return {240, 220}; }
    QSize sizeHint() const override { return {560, 520}; }

protected:
    void paintEvent(QPaintEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    bool event(QEvent *event) override;

private:
    void rebuild();
    HeatmapLayout layout() const;

    AttentionDocument *m_document;
    HeatmapFigure m_figure;
    HeatmapStage m_stage = HeatmapStage::Weights;
    ColorMapKind m_colorMap = ColorMapKind::Viridis;
    bool m_showNumbers = true;
};

} // namespace studio

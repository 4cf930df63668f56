#pragma once

#include <QWidget>

class QChartView;
class QChart;
class QBarSeries;
class QBarSet;
class QBarCategoryAxis;
class QValueAxis;

namespace studio {

class AttentionDocument;

// The selected query's attention over the keys as bars, with its entropy; when τ ≠ 1 a second
// series shows the same row at τ = 1. The only class that uses Qt Charts, so it stays replaceable.
class DistributionChart : public QWidget {
    Q_OBJECT
public:
    explicit DistributionChart(AttentionDocument *document, QWidget *parent = nullptr);
    int barSetCount() const;
    QList<double> values(int set = 0) const;
    QString title() const;
    // Every text the chart draws (axis labels, title, legend), as drawn: elided labels end in …
    QStringList drawnTexts() const;

private:
    void rebuild();

    AttentionDocument *m_document;
    QChartView *m_view;
    QChart *m_chart;
    QBarSeries *m_series;
    QBarCategoryAxis *m_keys;
    QValueAxis *m_weights;
    class DeferredRebuild *m_deferred;
};

} // namespace studio

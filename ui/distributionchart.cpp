#include "distributionchart.h"

#include "attentiondocument.h"
#include "deferredrebuild.h"

#include <QBarCategoryAxis>
#include <QGraphicsTextItem>
#include <QBarSeries>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QValueAxis>
#include <QVBoxLayout>

namespace studio {

DistributionChart::DistributionChart(AttentionDocument *document, QWidget *parent)
    : QWidget(parent), m_document(document)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    m_chart = new QChart;
    m_chart->legend()->setAlignment(Qt::AlignBottom);
    m_series = new QBarSeries(m_chart);
    m_chart->addSeries(m_series);
    m_keys = new QBarCategoryAxis(m_chart);
    m_keys->setLabelsAngle(-60);
    m_keys->setTruncateLabels(false); // whole tokens, never "T…": rotated, they have the room
    m_weights = new QValueAxis(m_chart);
    m_weights->setRange(0.0, 1.0);
    m_weights->setTitleText(tr("weight"));
    m_chart->addAxis(m_keys, Qt::AlignBottom);
    m_chart->addAxis(m_weights, Qt::AlignLeft);
    m_series->attachAxis(m_keys);
    m_series->attachAxis(m_weights);
    m_view = new QChartView(m_chart, this);
    m_view->setRenderHint(QPainter::Antialiasing);
    m_view->setMinimumSize(220, 160);
    layout->addWidget(m_view);
    m_deferred = new DeferredRebuild(this, [this] { rebuild(); });
    connect(document, &AttentionDocument::resultChanged, m_deferred, &DeferredRebuild::request);
    connect(document, &AttentionDocument::headSelected, m_deferred, &DeferredRebuild::request);
    connect(document, &AttentionDocument::querySelected, m_deferred, &DeferredRebuild::request);
    connect(document, &AttentionDocument::sceneChanged, m_deferred, &DeferredRebuild::request);
    rebuild();
}

int DistributionChart::barSetCount() const
{
    return int(m_series->count());
}

QList<double> DistributionChart::values(int set) const
{
    QList<double> out;
    if (set < 0 || set >= m_series->count())
        return out;
    const QBarSet *bars = m_series->barSets().at(set);
    for (int i = 0; i < bars->count(); ++i)
        out.append(bars->at(i));
    return out;
}

QStringList DistributionChart::drawnTexts() const
{
    QStringList texts;
    for (const QGraphicsItem *item : m_view->scene()->items())
        if (const auto *text = dynamic_cast<const QGraphicsTextItem *>(item); text && text->isVisible())
            texts.append(text->toPlainText());
    return texts;
}

QString DistributionChart::title() const
{
    return m_chart->title();
}

void DistributionChart::rebuild()
{
    const AttentionResult &result = m_document->result();
    const int layer = m_document->selectedLayer();
    const int head = m_document->selectedHead();
    const int query = std::max(0, m_document->selectedQuery());
    const bool hidden = query == m_document->hiddenQuery();
    if (!result.hasHead(layer, head) || query >= result.tokenCount() || result.keyCount() > 200 || hidden) {
        m_series->clear();
        m_keys->clear();
        m_chart->setTitle(hidden ? tr("The weights of “%1” are hidden until revealed: predict them first").arg(result.labels.value(query))
                          : result.keyCount() > 200 ? tr("Too many keys for bars; see the heatmap") : tr("No query selected"));
        return;
    }
    const Matrix &w = result.weights(layer, head);
    QStringList categories;
    const QStringList &keyLabels = result.columnLabels();
    for (int k = 0; k < result.keyCount(); ++k) {
        // Category names must be unique: a repeated token gets its position.
        QString label = keyLabels.at(k).isEmpty() ? QString::number(k) : keyLabels.at(k);
        if (categories.contains(label))
            label = QStringLiteral("%1 (%2)").arg(label).arg(k);
        categories.append(label);
    }
    // Qt Charts lays out text on every change, so change only what changed, each in one call.
    if (m_keys->categories() != categories)
        m_keys->setCategories(categories);
    const double temperature = m_document->isTeaching() ? m_document->workspace().settings.temperature : 1.0;
    QList<QList<qreal>> sets;
    QStringList names;
    QList<qreal> shown;
    for (int k = 0; k < w.cols(); ++k)
        shown.append(double(w(query, k)));
    sets.append(shown);
    names.append(temperature == 1.0 ? tr("weights") : tr("weights at τ = %1").arg(temperature));
    if (temperature != 1.0) {
        const HeadDetails &d = m_document->selectedDetails();
        if (query < d.trace.masked.rows()) {
            const Matrix atOne = softmaxRows(d.trace.masked.middleRows(query, 1), 1.0);
            QList<qreal> reference;
            for (int k = 0; k < atOne.cols(); ++k)
                reference.append(double(atOne(0, k)));
            sets.append(reference);
            names.append(tr("at τ = 1"));
        }
    }
    while (m_series->count() > sets.size())
        m_series->remove(m_series->barSets().last());
    for (qsizetype i = 0; i < sets.size(); ++i) {
        if (i < m_series->count()) {
            QBarSet *bars = m_series->barSets().at(i);
            bars->setLabel(names.at(i));
            if (bars->count() != sets.at(i).size()) {
                bars->remove(0, bars->count());
                bars->append(sets.at(i));
            } else {
                for (qsizetype k = 0; k < sets.at(i).size(); ++k)
                    if (bars->at(k) != sets.at(i).at(k))
                        bars->replace(k, sets.at(i).at(k));
            }
        } else {
            auto *bars = new QBarSet(names.at(i));
            bars->append(sets.at(i));
            m_series->append(bars);
        }
    }
    const double entropy = rowEntropyBits(w.middleRows(query, 1))[0];
    m_chart->setTitle(tr("Query %1 “%2”: entropy %3 bits (uniform over %4 keys: %5 bits)")
                          .arg(query).arg(result.labels.at(query)).arg(entropy, 0, 'f', 2)
                          .arg(w.cols()).arg(std::log2(double(w.cols())), 0, 'f', 2));
}

} // namespace studio

#pragma once

#include "predictionfigure.h"

#include <QWidget>

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QSpinBox;

namespace studio {

class AttentionDocument;
class DeferredRebuild;
class ViewOptions;

// The next token a causal language model predicts after the selected token (the last one when
// none is selected): the most likely tokens with the model's probabilities and their chance of
// being drawn under the sampling settings — a sampling temperature, top-k and top-p that only
// reshape this final choice, unlike the attention temperature, which changes what every head
// computes. Generate appends tokens one run at a time, every view following; undo removes them.
class PredictionPanel : public QWidget {
    Q_OBJECT
public:
    PredictionPanel(AttentionDocument *document, ViewOptions *options, QWidget *parent = nullptr);

    SamplingSettings settings() const;
    bool samples() const; // else greedy
    quint64 seed() const;
    int position() const; // the token whose next token is shown (−1: none)
    const PredictionFigure &figure() const { return m_figure; }
    QString headline() const;
    QString statusText() const;
    void generate(int count);

private:
    void rebuild();
    void syncGeneration();

    AttentionDocument *m_document;
    ViewOptions *m_options;
    PredictionFigure m_figure;
    QLabel *m_headline;
    QWidget *m_bars;
    QDoubleSpinBox *m_temperature;
    QSpinBox *m_topK;
    QDoubleSpinBox *m_topP;
    QComboBox *m_mode;
    QSpinBox *m_seed;
    QSpinBox *m_count;
    QPushButton *m_generate;
    QPushButton *m_stop;
    QLabel *m_status;
    DeferredRebuild *m_deferred;
};

} // namespace studio

#include "predictionpanel.h"

#include "attentiondocument.h"
#include "deferredrebuild.h"
#include "predictionjob.h"
#include "viewoptions.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPainter>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace studio {

namespace {

constexpr int kShownTokens = 10;

// The bars, painted from the panel's figure.
class PredictionBars : public QWidget {
public:
    PredictionBars(const PredictionFigure &figure, ViewOptions *options, QWidget *parent)
        : QWidget(parent), m_figure(figure), m_options(options)
    {
        setObjectName(QStringLiteral("predictionBars"));
        setMinimumHeight(120);
    }
    QSize sizeHint() const override { return preferredPredictionSize(m_figure, m_options->font()).toSize(); }

protected:
    void paintEvent(QPaintEvent *) override
    {
        QPainter painter(this);
        paintPredictionFigure(painter, QRectF(rect()), m_figure, m_options->font());
    }

private:
    const PredictionFigure &m_figure;
    ViewOptions *m_options;
};

} // namespace

PredictionPanel::PredictionPanel(AttentionDocument *document, ViewOptions *options, QWidget *parent)
    : QWidget(parent), m_document(document), m_options(options)
{
    auto *layout = new QVBoxLayout(this);
    m_headline = new QLabel(this);
    m_headline->setObjectName(QStringLiteral("predictionHeadline"));
    m_headline->setWordWrap(true);
    layout->addWidget(m_headline);
    m_bars = new PredictionBars(m_figure, options, this);
    m_bars->setToolTip(tr("Bar: the chance of being drawn with the sampling settings below. Tick: the model's own probability "
                          "(sampling temperature 1, nothing cut)."));
    layout->addWidget(m_bars, 1);

    // Named "sampling" everywhere: nobody confuses it with the attention temperature. Two settings
    // a row, so that the bars keep the height in a short dock.
    auto *form = new QGridLayout;
    int cell = 0;
    const auto addRow = [&](const QString &label, QWidget *field) {
        auto *name = new QLabel(label, this);
        name->setBuddy(field);
        form->addWidget(name, cell / 2, (cell % 2) * 2);
        form->addWidget(field, cell / 2, (cell % 2) * 2 + 1);
        ++cell;
    };
    m_temperature = new QDoubleSpinBox(this);
    m_temperature->setObjectName(QStringLiteral("samplingTemperature"));
    m_temperature->setRange(0.05, 5.0);
    m_temperature->setSingleStep(0.1);
    m_temperature->setValue(1.0);
    m_temperature->setToolTip(tr("Divides the final logits before the softmax over the vocabulary: below 1 sharpens the choice, "
                                 "above 1 flattens it. It changes nothing inside attention (that is the attention temperature "
                                 "in Controls)."));
    addRow(tr("Sampling temperature:"), m_temperature);
    m_topK = new QSpinBox(this);
    m_topK->setObjectName(QStringLiteral("topK"));
    m_topK->setRange(0, 1000);
    m_topK->setSpecialValueText(tr("all"));
    m_topK->setToolTip(tr("Draw only among the k most likely tokens (all: no limit)."));
    addRow(tr("Top-k:"), m_topK);
    m_topP = new QDoubleSpinBox(this);
    m_topP->setObjectName(QStringLiteral("topP"));
    m_topP->setRange(0.01, 1.0);
    m_topP->setSingleStep(0.05);
    m_topP->setValue(1.0);
    m_topP->setToolTip(tr("Then draw only among the fewest most likely tokens whose probabilities reach p (1: no limit)."));
    addRow(tr("Top-p:"), m_topP);
    m_mode = new QComboBox(this);
    m_mode->setObjectName(QStringLiteral("generationMode"));
    m_mode->addItem(tr("greedy: the most likely"));
    m_mode->addItem(tr("sampled with the settings"));
    m_mode->setToolTip(tr("Which token Generate appends: the most likely one, or one drawn with the sampling settings and the seed"));
    m_seed = new QSpinBox(this);
    m_seed->setObjectName(QStringLiteral("seed"));
    m_seed->setRange(0, 1'000'000);
    m_seed->setToolTip(tr("The same seed draws the same tokens again."));
    addRow(tr("Seed:"), m_seed);
    layout->addLayout(form);

    auto *buttons = new QHBoxLayout;
    m_count = new QSpinBox(this);
    m_count->setObjectName(QStringLiteral("generateCount"));
    m_count->setRange(1, 200);
    m_count->setValue(1);
    m_count->setSuffix(tr(" token(s)"));
    m_generate = new QPushButton(tr("Generate"), this);
    m_generate->setObjectName(QStringLiteral("generate"));
    m_generate->setToolTip(tr("Append the chosen next token to the sentence; every view follows. Undo removes it."));
    m_stop = new QPushButton(tr("Stop"), this);
    m_stop->setObjectName(QStringLiteral("stopGenerating"));
    buttons->addWidget(m_generate);
    buttons->addWidget(m_count);
    buttons->addWidget(m_mode);
    buttons->addWidget(m_stop);
    buttons->addStretch(1);
    layout->addLayout(buttons);
    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("generationStatus"));
    m_status->setWordWrap(true);
    m_status->setStyleSheet(QStringLiteral("color: #555;"));
    layout->addWidget(m_status);

    connect(m_generate, &QPushButton::clicked, this, [this] { generate(m_count->value()); });
    connect(m_stop, &QPushButton::clicked, document, &AttentionDocument::stopGenerating);
    // Closed, the panel asks for no logits and sorts no vocabulary until it is shown again.
    m_deferred = new DeferredRebuild(this, [this] { rebuild(); });
    for (QDoubleSpinBox *box : {m_temperature, m_topP})
        connect(box, &QDoubleSpinBox::valueChanged, m_deferred, &DeferredRebuild::request);
    connect(m_topK, &QSpinBox::valueChanged, m_deferred, &DeferredRebuild::request);
    connect(document->predictionJob(), &PredictionJob::changed, m_deferred, &DeferredRebuild::request);
    connect(document, &AttentionDocument::querySelected, m_deferred, &DeferredRebuild::request);
    connect(document, &AttentionDocument::busyChanged, m_deferred, &DeferredRebuild::request);
    connect(options, &ViewOptions::changed, m_deferred, &DeferredRebuild::request);
    connect(document, &AttentionDocument::generationChanged, this, &PredictionPanel::syncGeneration);
    connect(document, &AttentionDocument::generationStopped, this, [this](const QString &reason) {
        m_status->setText(tr("Stopped: %1.").arg(reason));
    });
    rebuild();
    syncGeneration();
}

SamplingSettings PredictionPanel::settings() const
{
    return {m_temperature->value(), m_topK->value(), m_topP->value()};
}

bool PredictionPanel::samples() const
{
    return m_mode->currentIndex() == 1;
}

quint64 PredictionPanel::seed() const
{
    return quint64(m_seed->value());
}

int PredictionPanel::position() const
{
    const PredictionJob *job = m_document->predictionJob();
    if (!job->available())
        return -1;
    const int query = m_document->selectedQuery();
    return query >= 0 && query < m_document->tokenCount() ? query : m_document->tokenCount() - 1;
}

void PredictionPanel::generate(int count)
{
    m_status->clear();
    m_document->generate(count, settings(), samples(), seed());
}

QString PredictionPanel::headline() const
{
    return m_headline->text();
}

QString PredictionPanel::statusText() const
{
    return m_status->text();
}

void PredictionPanel::syncGeneration()
{
    const bool generating = m_document->isGenerating();
    m_generate->setEnabled(!generating && m_document->predictionJob()->available());
    m_stop->setEnabled(generating);
    if (generating)
        m_status->setText(tr("Generating: %1 more…").arg(m_document->tokensToGenerate()));
    else if (m_status->text().startsWith(tr("Generating")))
        m_status->clear();
}

void PredictionPanel::rebuild()
{
    PredictionJob *job = m_document->predictionJob();
    m_figure = PredictionFigure();
    const bool available = job->available();
    for (QWidget *w : std::initializer_list<QWidget *>{m_temperature, m_topK, m_topP, m_mode, m_seed, m_count})
        w->setEnabled(available);
    if (!available) {
        QString why;
        if (m_document->isBusy())
            why = tr("Computing…");
        else if (m_document->isTeaching())
            why = tr("Next-token prediction needs a language model checkpoint (GPT-2, Llama, Mistral, Qwen2): the teaching "
                     "model has attention heads but no vocabulary to predict.");
        else if (m_document->isTranslation())
            why = tr("A translation model predicts the target's next token: press Translate beside the target, and every view "
                     "follows each token it writes.");
        else if (const QString reason = m_document->checkpoint()->model->predictionUnavailableReason(); !reason.isEmpty())
            why = tr("No next-token prediction: %1.").arg(reason);
        else
            why = tr("Type a beginning: the model predicts what comes next.");
        m_headline->setText(why);
    } else {
        const int at = position();
        const QString label = m_document->result().labels.value(at);
        const bool last = at == m_document->tokenCount() - 1;
        m_headline->setText(last ? tr("Next token after “%1”, the last of %2 tokens").arg(label).arg(m_document->tokenCount())
                                 : tr("Next token after “%1” (token %2 of %3; Generate always continues after the last)")
                                       .arg(label).arg(at).arg(m_document->tokenCount()));
        if (const std::shared_ptr<const RowVector> logits = job->logits(at)) {
            const ModelTokenizer &tokenizer = *job->checkpoint()->tokenizer;
            m_figure = predictionFigure(*logits, [&tokenizer](int id) { return tokenizer.displayToken(tokenizer.tokenForId(id)); },
                                        settings(), kShownTokens);
        } else {
            job->request(at);
        }
    }
    syncGeneration();
    m_bars->updateGeometry();
    m_bars->update();
}

} // namespace studio

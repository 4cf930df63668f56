#include "controlspanel.h"

#include "attentiondocument.h"
#include "viewoptions.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>

#include <cmath>

namespace studio {

int ControlsPanel::sliderForTemperature(double temperature)
{
    return int(std::lround(100.0 * std::log10(std::clamp(temperature, 0.01, 100.0))));
}

double ControlsPanel::temperatureForSlider(int position)
{
    return std::pow(10.0, position / 100.0);
}

ControlsPanel::ControlsPanel(AttentionDocument *document, ViewOptions *options, QWidget *parent)
    : QWidget(parent), m_document(document), m_options(options)
{
    auto *form = new QFormLayout(this);
    m_heads = new QSpinBox(this);
    m_heads->setObjectName(QStringLiteral("heads"));
    m_heads->setRange(1, kMaxHeads);
    m_heads->setToolTip(tr("Number of attention heads. Changing a dimension restores the default weights."));
    m_dModel = new QSpinBox(this);
    m_dModel->setObjectName(QStringLiteral("dModel"));
    m_dModel->setRange(kMinDModel, kMaxDModel);
    m_dModel->setToolTip(tr("Size of each token's vector (d_model)."));
    m_dHead = new QSpinBox(this);
    m_dHead->setObjectName(QStringLiteral("dHead"));
    m_dHead->setRange(1, kMaxDModel);
    m_dHead->setToolTip(tr("Size of each head's queries, keys and values (d_head = d_k)."));
    m_positional = new QCheckBox(tr("Add positional encodings"), this);
    m_positional->setToolTip(tr("Without them, equal words at different positions are indistinguishable."));
    m_scale = new QCheckBox(tr("Scale scores by 1/√d_k"), this);
    m_scale->setObjectName(QStringLiteral("scale"));
    m_scale->setToolTip(tr("Without scaling, larger heads give sharper softmaxes."));
    m_mask = new QComboBox(this);
    m_mask->setObjectName(QStringLiteral("mask"));
    m_mask->addItem(tr("None"), int(MaskMode::None));
    m_mask->addItem(tr("Causal (no looking ahead)"), int(MaskMode::Causal));
    m_mask->setToolTip(tr("Which keys each query may not see."));
    m_maskedKeys = new QLabel(this);
    m_clearKeys = new QPushButton(tr("Show all keys"), this);
    m_clearKeys->setToolTip(tr("Unhide every hidden key"));
    auto *keysRow = new QHBoxLayout;
    keysRow->addWidget(m_maskedKeys, 1);
    keysRow->addWidget(m_clearKeys);
    m_temperatureSlider = new QSlider(Qt::Horizontal, this);
    m_temperatureSlider->setObjectName(QStringLiteral("temperatureSlider"));
    m_temperatureSlider->setRange(-200, 200);
    m_temperatureSlider->setToolTip(tr("Softmax temperature τ on a log scale: low is sharp, high is flat."));
    m_temperature = new QDoubleSpinBox(this);
    m_temperature->setObjectName(QStringLiteral("temperature"));
    m_temperature->setRange(0.01, 100.0);
    m_temperature->setDecimals(3);
    m_temperature->setSingleStep(0.1);
    m_temperature->setToolTip(tr("Softmax temperature τ > 0"));
    auto *temperatureRow = new QHBoxLayout;
    temperatureRow->addWidget(m_temperatureSlider, 1);
    temperatureRow->addWidget(m_temperature);
    m_precision = new QComboBox(this);
    m_precision->setObjectName(QStringLiteral("precision"));
    m_precision->addItem(tr("fp32 (exact)"), int(Precision::Fp32));
    m_precision->addItem(tr("bf16 (approximate, faster)"), int(Precision::Bf16));
    m_colorMap = new QComboBox(this);
    m_colorMap->setObjectName(QStringLiteral("colorMap"));
    for (ColorMapKind kind : allColorMaps())
        m_colorMap->addItem(colorMapName(kind), int(kind));
    m_colorMap->setToolTip(tr("viridis and cividis are perceptually uniform and colour-blind safe; grayscale prints; diverging centres zero."));
    m_numbers = new QCheckBox(tr("Numbers in cells"), this);
    m_numbers->setToolTip(tr("Write each value in its cell when it fits"));
    m_fontSize = new QSpinBox(this);
    m_fontSize->setRange(9, 32);
    m_fontSize->setSuffix(tr(" px"));
    m_fontSize->setToolTip(tr("Text size of the views: larger for a projector"));

    form->addRow(tr("Heads:"), m_heads);
    form->addRow(tr("d_model:"), m_dModel);
    form->addRow(tr("d_head:"), m_dHead);
    form->addRow(QString(), m_positional);
    form->addRow(QString(), m_scale);
    form->addRow(tr("Mask:"), m_mask);
    form->addRow(tr("Hidden keys:"), keysRow);
    form->addRow(tr("Temperature τ:"), temperatureRow);
    form->addRow(tr("Precision:"), m_precision);
    form->addRow(tr("Colours:"), m_colorMap);
    form->addRow(QString(), m_numbers);
    form->addRow(tr("Text size:"), m_fontSize);
    m_temperatureNote = new QLabel(this);
    m_temperatureNote->setObjectName(QStringLiteral("temperatureNote"));
    m_temperatureNote->setWordWrap(true);
    m_temperatureNote->setStyleSheet(QStringLiteral("color: #a05000;"));
    form->insertRow(form->rowCount() - 4, QString(), m_temperatureNote);
    m_teachingOnly = {m_heads, m_dModel, m_dHead, m_positional, m_scale, m_mask, m_clearKeys};
    for (QWidget *widget : m_teachingOnly)
        widget->setProperty("teachingToolTip", widget->toolTip());

    connect(m_heads, &QSpinBox::valueChanged, this, &ControlsPanel::editConfig);
    connect(m_dModel, &QSpinBox::valueChanged, this, &ControlsPanel::editConfig);
    connect(m_dHead, &QSpinBox::valueChanged, this, &ControlsPanel::editConfig);
    connect(m_positional, &QCheckBox::toggled, this, &ControlsPanel::editConfig);
    connect(m_scale, &QCheckBox::toggled, this, [this](bool on) {
        AttentionSettings s = m_document->workspace().settings;
        s.scale = on;
        m_document->editSettings(s, AttentionDocument::SettingsEdit::Scale);
    });
    connect(m_mask, &QComboBox::currentIndexChanged, this, [this] {
        AttentionSettings s = m_document->workspace().settings;
        s.mask = MaskMode(m_mask->currentData().toInt());
        m_document->editSettings(s, AttentionDocument::SettingsEdit::Mask);
    });
    connect(m_clearKeys, &QPushButton::clicked, this, [this] {
        AttentionSettings s = m_document->workspace().settings;
        s.maskedKeys.clear();
        m_document->editSettings(s, AttentionDocument::SettingsEdit::ShowAllKeys);
    });
    connect(m_temperatureSlider, &QSlider::valueChanged, this, [this](int position) {
        AttentionSettings s = m_document->workspace().settings;
        s.temperature = temperatureForSlider(position);
        m_document->editSettings(s, AttentionDocument::SettingsEdit::Temperature); // a whole drag merges into one step
    });
    connect(m_temperature, &QDoubleSpinBox::valueChanged, this, [this](double value) {
        AttentionSettings s = m_document->workspace().settings;
        s.temperature = value;
        m_document->editSettings(s, AttentionDocument::SettingsEdit::Temperature);
    });
    connect(m_precision, &QComboBox::currentIndexChanged, this, [this] { m_document->setPrecision(Precision(m_precision->currentData().toInt())); });
    connect(document, &AttentionDocument::precisionChanged, this, &ControlsPanel::sync);
    connect(m_colorMap, &QComboBox::currentIndexChanged, this, [this] { m_options->setColorMap(ColorMapKind(m_colorMap->currentData().toInt())); });
    connect(m_numbers, &QCheckBox::toggled, m_options, &ViewOptions::setShowNumbers);
    connect(m_fontSize, &QSpinBox::valueChanged, m_options, &ViewOptions::setFontSize);
    connect(document, &AttentionDocument::resultChanged, this, &ControlsPanel::sync);
    connect(document, &AttentionDocument::modelChanged, this, &ControlsPanel::sync);
    connect(options, &ViewOptions::changed, this, &ControlsPanel::sync);
    sync();
}

void ControlsPanel::editConfig()
{
    TeachingConfig config = m_document->workspace().config;
    config.heads = m_heads->value();
    config.dModel = m_dModel->value();
    config.dHead = std::min(m_dHead->value(), config.dModel);
    config.positional = m_positional->isChecked();
    m_document->editConfig(config);
}

void ControlsPanel::sync()
{
    const Workspace &w = m_document->workspace();
    const QSignalBlocker b1(m_heads), b2(m_dModel), b3(m_dHead), b4(m_positional), b5(m_scale), b6(m_mask),
        b7(m_temperatureSlider), b8(m_temperature), b9(m_colorMap), b10(m_numbers), b11(m_fontSize), b12(m_precision);
    m_heads->setValue(w.config.heads);
    m_dModel->setValue(w.config.dModel);
    m_dHead->setMaximum(w.config.dModel);
    m_dHead->setValue(w.config.dHead);
    m_positional->setChecked(w.config.positional);
    m_scale->setChecked(w.settings.scale);
    m_mask->setCurrentIndex(m_mask->findData(int(w.settings.mask)));
    QStringList keys;
    for (int key : w.settings.maskedKeys)
        keys.append(QStringLiteral("%1 “%2”").arg(key).arg(m_document->result().labels.value(key)));
    m_maskedKeys->setText(keys.isEmpty() ? tr("none: Ctrl+click a column of the heatmap") : keys.join(QStringLiteral(", ")));
    m_temperatureSlider->setValue(sliderForTemperature(w.settings.temperature));
    m_temperature->setValue(w.settings.temperature);
    m_colorMap->setCurrentIndex(m_colorMap->findData(int(m_options->colorMap())));
    m_numbers->setChecked(m_options->showNumbers());
    m_fontSize->setValue(m_options->fontSize());
    // The temperature works on any model: on a loaded one it is an experiment, and says so.
    const bool experiment = !m_document->isTeaching() && w.settings.temperature != 1.0;
    m_temperatureNote->setText(experiment ? tr("τ ≠ 1 changes the model: every layer's attention softmax is divided by τ, "
                                               "so later layers see other inputs. τ = 1 is the model as trained.")
                                          : QString());
    m_temperatureNote->setVisible(experiment);
    // bf16: a checkpoint's linear layers in bfloat16, where the CPU multiplies it natively.
    m_precision->setCurrentIndex(m_precision->findData(int(m_document->precision())));
    const bool bf16 = bf16Supported();
    m_precision->setEnabled(!m_document->isTeaching() && !m_document->isTranslation() && bf16);
    m_precision->setToolTip(!bf16 ? bf16Unavailable()
                            : m_document->isTeaching() ? tr("For a loaded model: the teaching model computes in fp32.")
                            : m_document->isTranslation() ? tr("Translation models run in fp32.")
                                                          : tr("bf16 rounds the inputs of every linear layer to 8 significant bits: about twice as fast, "
                                                               "and approximate. The status bar shows how far its attention weights are from fp32's."));
    for (QWidget *widget : m_teachingOnly) {
        widget->setEnabled(m_document->isTeaching());
        widget->setToolTip(m_document->isTeaching() ? widget->property("teachingToolTip").toString()
                                                    : tr("Applies to the teaching model; a loaded model runs as it was trained."));
    }
}

} // namespace studio

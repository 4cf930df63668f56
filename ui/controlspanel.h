#pragma once

#include <QWidget>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QSlider;
class QSpinBox;

namespace studio {

class AttentionDocument;
class ViewOptions;

// Model dimensions, positional encoding, scaling, mask, temperature and display options. Every
// change goes through the document as an undo command; the controls re-sync from the document
// under QSignalBlocker so Undo moves them back without a feedback loop.
class ControlsPanel : public QWidget {
    Q_OBJECT
public:
    ControlsPanel(AttentionDocument *document, ViewOptions *options, QWidget *parent = nullptr);

    // The temperature slider is logarithmic: position p ↦ τ = 10^(p / 100), τ from 0.01 to 100.
    static int sliderForTemperature(double temperature);
    static double temperatureForSlider(int position);

private:
    void sync();
    void editConfig();

    AttentionDocument *m_document;
    ViewOptions *m_options;
    QSpinBox *m_heads;
    QSpinBox *m_dModel;
    QSpinBox *m_dHead;
    QCheckBox *m_positional;
    QCheckBox *m_scale;
    QLabel *m_temperatureNote;
    QComboBox *m_mask;
    QLabel *m_maskedKeys;
    QPushButton *m_clearKeys;
    QSlider *m_temperatureSlider;
    QDoubleSpinBox *m_temperature;
    QComboBox *m_precision;
    QComboBox *m_colorMap;
    QCheckBox *m_numbers;
    QSpinBox *m_fontSize;
    QList<QWidget *> m_teachingOnly;
};

} // namespace studio

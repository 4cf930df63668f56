#pragma once

#include <QMainWindow>

class QComboBox;
class QLineEdit;

namespace studio {

class AttentionDocument;
class HeatmapView;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget *parent = nullptr);
    AttentionDocument *document() const { return m_document; }

private:
    void syncFromDocument();

    AttentionDocument *m_document;
    QLineEdit *m_sentence;
    QComboBox *m_head;
    HeatmapView *m_heatmap;
};

} // namespace studio

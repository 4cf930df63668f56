#pragma once

#include "attention.h"

#include <QAbstractTableModel>
#include <QTableView>
#include <QWidget>

class QComboBox;
class QLabel;
class QPushButton;
class QSpinBox;

namespace studio {

class AttentionDocument;

// One of W_Q, W_K, W_V of the selected head (d_model rows × d_head columns). Editable for the
// teaching model: setData pushes an undo command. A loaded checkpoint's weights are read-only and
// show the bias as a last row.
class WeightTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    WeightTableModel(AttentionDocument *document, Projection matrix, QObject *parent = nullptr);
    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role) const override;
    bool setData(const QModelIndex &index, const QVariant &value, int role) override;
    Qt::ItemFlags flags(const QModelIndex &index) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

    // For a scrub gesture: set one cell, merging with earlier steps of the same gesture.
    void scrub(const QModelIndex &index, float value, int gesture);
    float valueAt(const QModelIndex &index) const;

private:
    void reload();
    AttentionDocument *m_document;
    Projection m_matrix;
    int m_rows = 0;
    int m_cols = 0;
    bool m_hasBias = false;
};

// Dragging up or down over a cell changes its value (0.01 per pixel, 0.001 with Shift): a whole
// drag is one undo step. Double-click or F2 edits the number.
// A float as the shortest text that reads back to the same bits: "0.125", "-5.049", "1e+09", "nan".
QString exactFloatText(float value);

class ScrubTableView : public QTableView {
    Q_OBJECT
public:
    using QTableView::QTableView;

protected:
    void mousePressEvent(QMouseEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;
    void mouseReleaseEvent(QMouseEvent *event) override;

private:
    QModelIndex m_scrubIndex;
    QPoint m_pressPosition;
    float m_startValue = 0;
    bool m_scrubbing = false;
    int m_gesture = 0;
};

class WeightEditor : public QWidget {
    Q_OBJECT
public:
    explicit WeightEditor(AttentionDocument *document, QWidget *parent = nullptr);
    WeightTableModel *model(Projection matrix) const { return m_models[int(matrix)]; }
    QTableView *table(Projection matrix) const { return m_tables[int(matrix)]; }

private:
    void sync();
    AttentionDocument *m_document;
    WeightTableModel *m_models[4];
    QTableView *m_tables[4];
    QLabel *m_title;
    QPushButton *m_reset;
    QPushButton *m_randomize;
    QSpinBox *m_seed;
    QComboBox *m_preset;
    QPushButton *m_applyPreset;
};

} // namespace studio

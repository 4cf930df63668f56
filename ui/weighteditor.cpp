#include "weighteditor.h"

#include "attentiondocument.h"
#include "heatmapfigure.h"

#include <QComboBox>
#include <QGridLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMouseEvent>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace studio {

namespace {


} // namespace

WeightTableModel::WeightTableModel(AttentionDocument *document, Projection matrix, QObject *parent)
    : QAbstractTableModel(parent), m_document(document), m_matrix(matrix)
{
    connect(document, &AttentionDocument::resultChanged, this, &WeightTableModel::reload);
    connect(document, &AttentionDocument::headSelected, this, &WeightTableModel::reload);
    connect(document, &AttentionDocument::modelChanged, this, &WeightTableModel::reload);
    reload();
}

void WeightTableModel::reload()
{
    const HeadDetails &d = m_document->selectedDetails();
    const Matrix &w = d.weight(m_matrix);
    const bool hasBias = d.bias(m_matrix).size() > 0;
    const int rows = int(w.rows()) + (hasBias ? 1 : 0);
    const int cols = int(w.cols());
    if (rows != m_rows || cols != m_cols || hasBias != m_hasBias) {
        beginResetModel();
        m_rows = rows;
        m_cols = cols;
        m_hasBias = hasBias;
        endResetModel();
    } else if (rows > 0 && cols > 0) {
        Q_EMIT dataChanged(index(0, 0), index(rows - 1, cols - 1));
    }
}

int WeightTableModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : m_rows;
}

int WeightTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : m_cols;
}

QString exactFloatText(float value)
{
    char text[32];
    const auto written = std::to_chars(text, text + sizeof text, value);
    return QString::fromLatin1(text, int(written.ptr - text));
}

float WeightTableModel::valueAt(const QModelIndex &index) const
{
    const HeadDetails &d = m_document->selectedDetails();
    const Matrix &w = d.weight(m_matrix);
    if (index.row() < w.rows() && index.column() < w.cols())
        return w(index.row(), index.column());
    const RowVector &b = d.bias(m_matrix);
    return index.column() < b.size() ? b[index.column()] : 0.0f;
}

QVariant WeightTableModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_rows || index.column() >= m_cols)
        return {};
    const float value = valueAt(index);
    switch (role) {
    case Qt::DisplayRole: return formatCellValue(value, std::abs(value) < 100 ? 3 : -1);
    // The editor starts from the exact float, the shortest text that reads back to the same bits
    // ("-5.049", "1e+09", "nan"): a text field, not a spin box that rounds to its decimals.
    case Qt::EditRole: return exactFloatText(value);
    case Qt::ToolTipRole:
        return std::isfinite(value) ? QString::number(double(value), 'g', 9) : tr("%1 is not a finite number").arg(value);
    case Qt::TextAlignmentRole: return int(Qt::AlignRight | Qt::AlignVCenter);
    case Qt::BackgroundRole:
        if (!std::isfinite(value))
            return QColor(255, 120, 120);
        if (m_hasBias && index.row() == m_rows - 1)
            return QColor(235, 235, 245);
        return {};
    default: return {};
    }
}

bool WeightTableModel::setData(const QModelIndex &index, const QVariant &value, int role)
{
    if (role != Qt::EditRole || !(flags(index) & Qt::ItemIsEditable))
        return false;
    // Any number a float holds, and also NaN and ±Inf: a teacher may want to show what they do to
    // attention. The views mark such cells; saving refuses them with a message.
    bool ok = false;
    const double number = value.toString().trimmed().replace(QStringLiteral("−"), QStringLiteral("-")).toDouble(&ok);
    if (!ok)
        return false; // not a number: the old value stays
    if (std::isfinite(number) && std::abs(number) > double(std::numeric_limits<float>::max()))
        return false;
    const float stored = float(number);
    const float current = valueAt(index);
    if (std::memcmp(&stored, &current, sizeof stored) == 0 || (std::isnan(stored) && std::isnan(current)))
        return true; // unchanged (Enter on an untouched cell): no undo step
    m_document->editWeight(m_document->selectedHead(), m_matrix, index.row(), index.column(), stored);
    return true;
}

void WeightTableModel::scrub(const QModelIndex &index, float value, int gesture)
{
    if (flags(index) & Qt::ItemIsEditable)
        m_document->editWeight(m_document->selectedHead(), m_matrix, index.row(), index.column(), value, gesture);
}

Qt::ItemFlags WeightTableModel::flags(const QModelIndex &index) const
{
    if (!index.isValid())
        return Qt::NoItemFlags;
    Qt::ItemFlags f = Qt::ItemIsEnabled | Qt::ItemIsSelectable;
    if (m_document->isTeaching())
        f |= Qt::ItemIsEditable;
    return f;
}

QVariant WeightTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (role != Qt::DisplayRole)
        return {};
    if (orientation == Qt::Horizontal)
        return QString::number(section);
    if (m_hasBias && section == m_rows - 1)
        return tr("bias");
    // W_O's rows are the head's output dimensions; the others' rows are the model's.
    return (m_matrix == Projection::O ? QStringLiteral("o%1") : QStringLiteral("x%1")).arg(section);
}

void ScrubTableView::mousePressEvent(QMouseEvent *event)
{
    if (event->button() == Qt::LeftButton) {
        m_scrubIndex = indexAt(event->position().toPoint());
        m_pressPosition = event->position().toPoint();
        m_scrubbing = false;
        if (auto *weights = qobject_cast<WeightTableModel *>(model()); weights && m_scrubIndex.isValid())
            m_startValue = weights->valueAt(m_scrubIndex);
    }
    QTableView::mousePressEvent(event);
}

void ScrubTableView::mouseMoveEvent(QMouseEvent *event)
{
    auto *weights = qobject_cast<WeightTableModel *>(model());
    if ((event->buttons() & Qt::LeftButton) && m_scrubIndex.isValid() && weights
        && (weights->flags(m_scrubIndex) & Qt::ItemIsEditable)) {
        const int dy = m_pressPosition.y() - event->position().toPoint().y();
        if (!m_scrubbing && std::abs(dy) > 3) {
            m_scrubbing = true;
            static int gestures = 0;
            m_gesture = ++gestures;
            setCursor(Qt::SizeVerCursor);
        }
        if (m_scrubbing) {
            const float step = (event->modifiers() & Qt::ShiftModifier) ? 0.001f : 0.01f;
            weights->scrub(m_scrubIndex, m_startValue + step * float(dy), m_gesture);
            return;
        }
    }
    QTableView::mouseMoveEvent(event);
}

void ScrubTableView::mouseReleaseEvent(QMouseEvent *event)
{
    if (m_scrubbing) {
        m_scrubbing = false;
        unsetCursor();
    }
    QTableView::mouseReleaseEvent(event);
}

WeightEditor::WeightEditor(AttentionDocument *document, QWidget *parent) : QWidget(parent), m_document(document)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    m_title = new QLabel(this);
    m_title->setWordWrap(true);
    layout->addWidget(m_title);
    auto *grid = new QGridLayout;
    for (Projection projection : kHeadMatrices) {
        const int m = int(projection);
        m_models[m] = new WeightTableModel(document, projection, this);
        auto *table = new ScrubTableView(this);
        table->setObjectName(QStringLiteral("weights%1").arg(m));
        table->setModel(m_models[m]);
        table->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
        table->verticalHeader()->setDefaultSectionSize(table->fontMetrics().height() + 6);
        table->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed | QAbstractItemView::AnyKeyPressed);
        table->setToolTip(tr("%1 of the selected head. Drag up/down over a cell to scrub its value (Shift: finer); double-click to type one.")
                              .arg(projectionMatrixName(projection)));
        m_tables[m] = table;
        grid->addWidget(new QLabel(QStringLiteral("<b>%1</b>").arg(projectionMatrixName(projection)), this), 0, m);
        grid->addWidget(table, 1, m);
    }
    layout->addLayout(grid, 1);
    auto *buttons = new QHBoxLayout;
    m_reset = new QPushButton(tr("Reset"), this);
    m_reset->setToolTip(tr("Restore this head's default weights"));
    m_randomize = new QPushButton(tr("Randomize"), this);
    m_randomize->setToolTip(tr("Random weights from the seed"));
    m_seed = new QSpinBox(this);
    m_seed->setRange(0, 1000000);
    m_seed->setValue(7);
    m_seed->setPrefix(tr("seed "));
    m_seed->setToolTip(tr("The same seed gives the same weights on every machine"));
    m_preset = new QComboBox(this);
    for (HeadPreset preset : allHeadPresets())
        m_preset->addItem(headPresetName(preset), int(preset));
    m_preset->setToolTip(tr("A head pattern a teacher can explain"));
    m_applyPreset = new QPushButton(tr("Apply preset"), this);
    buttons->addWidget(m_reset);
    buttons->addWidget(m_randomize);
    buttons->addWidget(m_seed);
    buttons->addStretch();
    buttons->addWidget(m_preset);
    buttons->addWidget(m_applyPreset);
    layout->addLayout(buttons);

    connect(m_reset, &QPushButton::clicked, this, [this] {
        const int head = m_document->selectedHead();
        const std::vector<HeadWeights> defaults = defaultHeads(m_document->workspace().config);
        if (head < int(defaults.size()))
            m_document->editHead(head, defaults[size_t(head)], tr("Reset head %1").arg(head));
    });
    connect(m_randomize, &QPushButton::clicked, this, [this] {
        const TeachingConfig &c = m_document->workspace().config;
        m_document->editHead(m_document->selectedHead(), randomHead(c.dModel, c.dHead, std::uint64_t(m_seed->value())),
                             tr("Randomize head %1").arg(m_document->selectedHead()));
    });
    connect(m_applyPreset, &QPushButton::clicked, this, [this] {
        const TeachingConfig &c = m_document->workspace().config;
        const auto preset = HeadPreset(m_preset->currentData().toInt());
        m_document->editHead(m_document->selectedHead(), presetHead(preset, c.dModel, c.dHead, std::uint64_t(m_seed->value())),
                             tr("Preset “%1” for head %2").arg(headPresetName(preset)).arg(m_document->selectedHead()));
    });
    connect(document, &AttentionDocument::headSelected, this, &WeightEditor::sync);
    connect(document, &AttentionDocument::modelChanged, this, &WeightEditor::sync);
    connect(document, &AttentionDocument::resultChanged, this, &WeightEditor::sync);
    sync();
}

void WeightEditor::sync()
{
    const HeadDetails &d = m_document->selectedDetails();
    const bool editable = m_document->isTeaching();
    int nonFinite = 0;
    for (const Matrix *m : {&d.wQ, &d.wK, &d.wV})
        nonFinite += int((!m->array().isFinite()).count());
    m_title->setText(tr("<b>%1</b>: %2%3%4")
                         .arg(d.name.toHtmlEscaped(), d.description.toHtmlEscaped(),
                              editable ? QString() : tr(" These weights are read-only."),
                              nonFinite ? tr(" <span style='color:#b00'>%1 weights are not finite numbers (red).</span>").arg(nonFinite) : QString()));
    for (QWidget *w : {static_cast<QWidget *>(m_reset), static_cast<QWidget *>(m_randomize), static_cast<QWidget *>(m_seed),
                       static_cast<QWidget *>(m_preset), static_cast<QWidget *>(m_applyPreset)})
        w->setEnabled(editable);
}

} // namespace studio

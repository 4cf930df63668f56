#include "scenespanel.h"

#include "attentiondocument.h"

#include <QCheckBox>
#include <QColor>
#include <QComboBox>
#include <QGridLayout>
#include <QGroupBox>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QSignalBlocker>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <cmath>

namespace studio {

ScenesPanel::ScenesPanel(AttentionDocument *document, std::function<QString()> currentView, QWidget *parent)
    : QWidget(parent), m_document(document), m_currentView(std::move(currentView))
{
    setObjectName(QStringLiteral("scenes"));
    m_list = new QListWidget(this);
    m_list->setObjectName(QStringLiteral("sceneList"));
    m_list->setToolTip(tr("Double-click a scene to go to it"));
    auto *add = new QPushButton(tr("&Add scene"), this);
    add->setObjectName(QStringLiteral("addScene"));
    add->setToolTip(tr("Save the sentence, model, settings, view, stage, head, query and key as a scene"));
    m_goTo = new QPushButton(tr("&Go to"), this);
    m_present = new QPushButton(tr("&Present"), this);
    m_present->setObjectName(QStringLiteral("presentScenes"));
    m_present->setToolTip(tr("Play the scenes in presenter mode from the selected one (Page Down / Page Up go scene by scene)"));
    m_rename = new QPushButton(tr("Rename…"), this);
    m_up = new QPushButton(tr("Up"), this);
    m_down = new QPushButton(tr("Down"), this);
    m_delete = new QPushButton(tr("Delete"), this);
    m_hide = new QCheckBox(tr("Hide the query's weights until revealed"), this);
    m_hide->setObjectName(QStringLiteral("hideWeights"));
    m_hide->setToolTip(tr("The class predicts first: the selected query's weights show as “?” until revealed"));
    m_target = new QComboBox(this);
    m_target->setObjectName(QStringLiteral("target"));
    m_target->addItem(tr("No challenge"), QString());
    for (TargetPattern pattern : kTargetPatterns)
        m_target->addItem(tr("Make a head that will %1").arg(targetPatternTitle(pattern)), targetPatternName(pattern));
    m_target->setToolTip(tr("A target pattern: while students edit W_Q and W_K, the panel shows how far the head is from it"));
    m_reveal = new QPushButton(tr("&Reveal weights"), this);
    m_reveal->setObjectName(QStringLiteral("reveal"));

    auto *buttons = new QGridLayout;
    buttons->addWidget(add, 0, 0);
    buttons->addWidget(m_goTo, 0, 1);
    buttons->addWidget(m_present, 0, 2);
    buttons->addWidget(m_rename, 1, 0);
    buttons->addWidget(m_up, 1, 1);
    buttons->addWidget(m_down, 1, 2);
    buttons->addWidget(m_delete, 2, 0);
    buttons->addWidget(m_reveal, 2, 1, 1, 2);

    auto *challenge = new QGroupBox(tr("Challenge"), this);
    m_challengeSummary = new QLabel(challenge);
    m_challengeSummary->setObjectName(QStringLiteral("challengeSummary"));
    m_challengeSummary->setWordWrap(true);
    m_challengeRows = new QTreeWidget(challenge);
    m_challengeRows->setRootIsDecorated(false);
    m_challengeRows->setHeaderLabels({tr("query"), tr("distance (bits)"), QString()});
    m_challengeRows->header()->setStretchLastSection(true);
    m_challengeRows->setToolTip(tr("Jensen–Shannon divergence (base 2) between each row of weights and the target row: 0 is a match, 1 as far as can be"));
    auto *challengeLayout = new QVBoxLayout(challenge);
    challengeLayout->addWidget(m_challengeSummary);
    challengeLayout->addWidget(m_challengeRows, 1);
    challengeLayout->addStretch(0);
    m_challengeSummary->setAlignment(Qt::AlignTop | Qt::AlignLeft);

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(m_list, 1);
    layout->addLayout(buttons);
    layout->addWidget(m_hide);
    layout->addWidget(m_target);
    layout->addWidget(challenge, 2); // the rows of the challenge need the room more than the list
    m_challengeRows->setMinimumHeight(140);

    connect(add, &QPushButton::clicked, this, [this] { addScene(); });
    connect(m_goTo, &QPushButton::clicked, this, &ScenesPanel::goToSelected);
    connect(m_list, &QListWidget::itemActivated, this, &ScenesPanel::goToSelected);
    connect(m_present, &QPushButton::clicked, this, [this] {
        if (selectedRow() < 0 && !m_document->scenes().empty())
            selectRow(0);
        goToSelected();
        Q_EMIT presentRequested();
    });
    connect(m_rename, &QPushButton::clicked, this, [this] { renameSelected(); });
    connect(m_up, &QPushButton::clicked, this, [this] { moveSelected(-1); });
    connect(m_down, &QPushButton::clicked, this, [this] { moveSelected(1); });
    connect(m_delete, &QPushButton::clicked, this, &ScenesPanel::deleteSelected);
    connect(m_reveal, &QPushButton::clicked, m_document, &AttentionDocument::revealWeights);
    connect(m_list, &QListWidget::currentRowChanged, this, &ScenesPanel::sync);
    connect(m_hide, &QCheckBox::toggled, this, [this](bool hide) {
        editSelected([hide](Scene &scene) { scene.hideWeights = hide; },
                     hide ? tr("Hide the scene's weights") : tr("Show the scene's weights"));
    });
    connect(m_target, &QComboBox::activated, this, [this] {
        const TargetPattern pattern = targetPatternFromName(m_target->currentData().toString()).value_or(TargetPattern::None);
        editSelected([pattern](Scene &scene) { scene.target = pattern; }, tr("Set the scene's challenge"));
    });
    for (auto change : {&AttentionDocument::workspaceChanged, &AttentionDocument::sceneChanged})
        connect(document, change, this, &ScenesPanel::sync);
    for (auto change : {&AttentionDocument::resultChanged, &AttentionDocument::headSelected, &AttentionDocument::sceneChanged})
        connect(document, change, this, &ScenesPanel::syncChallenge);
    sync();
    syncChallenge();
}

int ScenesPanel::selectedRow() const
{
    return m_list->currentRow();
}

void ScenesPanel::selectRow(int row)
{
    m_list->setCurrentRow(row);
}

void ScenesPanel::sync()
{
    const std::vector<Scene> &scenes = m_document->scenes();
    const int keep = m_list->currentRow();
    {
        const QSignalBlocker block(m_list);
        m_list->clear();
        for (size_t i = 0; i < scenes.size(); ++i) {
            QString text = QStringLiteral("%1. %2").arg(i + 1).arg(scenes[i].name);
            if (int(i) == m_document->activeScene())
                text += tr("   ◀ showing");
            m_list->addItem(text);
        }
        m_list->setCurrentRow(std::min(keep, int(scenes.size()) - 1));
    }
    const int row = m_list->currentRow();
    const bool selected = row >= 0;
    for (QWidget *widget : {static_cast<QWidget *>(m_goTo), static_cast<QWidget *>(m_rename), static_cast<QWidget *>(m_delete),
                            static_cast<QWidget *>(m_hide), static_cast<QWidget *>(m_target)})
        widget->setEnabled(selected);
    m_present->setEnabled(!scenes.empty());
    m_up->setEnabled(selected && row > 0);
    m_down->setEnabled(selected && row + 1 < int(scenes.size()));
    m_reveal->setEnabled(m_document->weightsHidden());
    const QSignalBlocker blockHide(m_hide);
    const QSignalBlocker blockTarget(m_target);
    m_hide->setChecked(selected && scenes[size_t(row)].hideWeights);
    m_target->setCurrentIndex(selected ? std::max(0, m_target->findData(targetPatternName(scenes[size_t(row)].target))) : 0);
}

void ScenesPanel::syncChallenge()
{
    m_challengeRows->clear();
    const std::optional<AttentionDocument::Challenge> challenge = m_document->challenge();
    m_reveal->setEnabled(m_document->weightsHidden());
    if (!challenge) {
        m_challengeSummary->setText(tr("Give a scene a target pattern, then go to it: here you see how far the selected head is from the target while you edit its W_Q and W_K."));
        m_challengeRows->setVisible(false);
        return;
    }
    m_challengeRows->setVisible(true);
    const ChallengeScore &score = challenge->score;
    const QString head = m_document->headName(m_document->selectedLayer(), m_document->selectedHead());
    m_challengeSummary->setText(score.reached
        ? tr("<b>Reached!</b> %1 does “%2”: mean distance %3 bits (≤ %4).").arg(head, targetPatternTitle(challenge->pattern))
              .arg(score.mean, 0, 'f', 3).arg(kChallengeReachedBits, 0, 'f', 2)
        : tr("Goal: make %1 <b>%2</b>. Mean distance %3 bits; reached at ≤ %4. Edit W_Q and W_K in the Weights tab.")
              .arg(head, targetPatternTitle(challenge->pattern)).arg(score.mean, 0, 'f', 3).arg(kChallengeReachedBits, 0, 'f', 2));
    const QStringList &labels = m_document->result().labels;
    for (size_t row = 0; row < score.rows.size(); ++row) {
        const double d = score.rows[row];
        auto *item = new QTreeWidgetItem(m_challengeRows);
        item->setText(0, QStringLiteral("%1 %2").arg(row).arg(labels.value(int(row))));
        item->setText(1, std::isnan(d) ? tr("no visible key") : QString::number(d, 'f', 3));
        // A bar of up to 20 blocks: the row's distance at a glance.
        item->setText(2, std::isnan(d) ? QString() : QString(int(std::lround(d * 20)), QChar(0x2588)));
        // Green where the row is as good as reached, orange where it is still far.
        item->setForeground(2, d <= kChallengeReachedBits ? QColor(40, 150, 70) : QColor(220, 120, 40));
    }
}

QString ScenesPanel::challengeText() const
{
    return m_challengeSummary->text();
}

void ScenesPanel::addScene(const QString &name)
{
    QString chosen = name;
    if (chosen.isEmpty()) {
        const QString suggestion = tr("Scene %1").arg(m_document->scenes().size() + 1);
        bool ok = false;
        chosen = QInputDialog::getText(this, tr("Add scene"), tr("Name of the scene:"), QLineEdit::Normal, suggestion, &ok).trimmed();
        if (!ok)
            return;
        if (chosen.isEmpty())
            chosen = suggestion;
    }
    std::vector<Scene> scenes = m_document->scenes();
    scenes.push_back(m_document->captureScene(chosen, m_currentView ? m_currentView() : QString()));
    m_document->editScenes(scenes, tr("Add scene “%1”").arg(chosen));
    selectRow(int(scenes.size()) - 1);
}

void ScenesPanel::renameSelected(const QString &name)
{
    const int row = selectedRow();
    if (row < 0)
        return;
    QString chosen = name;
    if (chosen.isEmpty()) {
        bool ok = false;
        chosen = QInputDialog::getText(this, tr("Rename scene"), tr("Name of the scene:"), QLineEdit::Normal,
                                       m_document->scenes()[size_t(row)].name, &ok).trimmed();
        if (!ok || chosen.isEmpty())
            return;
    }
    editSelected([chosen](Scene &scene) { scene.name = chosen; }, tr("Rename scene"));
}

void ScenesPanel::moveSelected(int by)
{
    const int row = selectedRow();
    std::vector<Scene> scenes = m_document->scenes();
    const int to = row + by;
    if (row < 0 || to < 0 || to >= int(scenes.size()))
        return;
    std::swap(scenes[size_t(row)], scenes[size_t(to)]);
    m_document->editScenes(scenes, tr("Move scene"));
    selectRow(to);
}

void ScenesPanel::deleteSelected()
{
    const int row = selectedRow();
    std::vector<Scene> scenes = m_document->scenes();
    if (row < 0 || row >= int(scenes.size()))
        return;
    const QString name = scenes[size_t(row)].name;
    scenes.erase(scenes.begin() + row);
    m_document->editScenes(scenes, tr("Delete scene “%1”").arg(name));
    selectRow(std::min(row, int(scenes.size()) - 1));
}

void ScenesPanel::goToSelected()
{
    m_document->goToScene(selectedRow());
}

void ScenesPanel::editSelected(const std::function<void(Scene &)> &change, const QString &label)
{
    const int row = selectedRow();
    std::vector<Scene> scenes = m_document->scenes();
    if (row < 0 || row >= int(scenes.size()))
        return;
    change(scenes[size_t(row)]);
    m_document->editScenes(scenes, label);
}

} // namespace studio

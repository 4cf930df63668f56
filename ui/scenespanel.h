#pragma once

#include <QWidget>

#include <functional>

class QCheckBox;
class QComboBox;
class QLabel;
class QListWidget;
class QPushButton;
class QTreeWidget;

namespace studio {

class AttentionDocument;
struct Scene;

// The lesson's scenes: add the current state as a scene, rename, reorder, delete, go to one, play
// them in presenter mode; per scene, hide the query's weights until revealed and a target pattern
// for the make-a-head challenge, whose score (per row and in total) shows here while the student
// edits W_Q and W_K. Every change is an undo step of the document.
class ScenesPanel : public QWidget {
    Q_OBJECT
public:
    // currentView names the view in front ("heatmap", "steps", …) when a scene is captured.
    ScenesPanel(AttentionDocument *document, std::function<QString()> currentView, QWidget *parent = nullptr);

    void addScene(const QString &name = {}); // asks for a name when none is given
    void renameSelected(const QString &name = {});
    void moveSelected(int by);
    void deleteSelected();
    void goToSelected();
    int selectedRow() const;
    void selectRow(int row);
    QString challengeText() const;

Q_SIGNALS:
    void presentRequested(); // play the scenes in presenter mode, from the selected one

private:
    void sync();
    void syncChallenge();
    void editSelected(const std::function<void(Scene &)> &change, const QString &label);

    AttentionDocument *m_document;
    std::function<QString()> m_currentView;
    QListWidget *m_list;
    QPushButton *m_goTo;
    QPushButton *m_present;
    QPushButton *m_rename;
    QPushButton *m_up;
    QPushButton *m_down;
    QPushButton *m_delete;
    QCheckBox *m_hide;
    QComboBox *m_target;
    QPushButton *m_reveal;
    QLabel *m_challengeSummary;
    QTreeWidget *m_challengeRows;
};

} // namespace studio

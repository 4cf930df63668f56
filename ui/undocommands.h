#pragma once

#include "attentiondocument.h"

#include <QUndoCommand>

namespace studio {

// Command ids for merging consecutive edits of the same kind into one undo step.
enum class CommandId { Text = 1, Settings, Workspace };

// Typing into the sentence: consecutive keystrokes merge into one step.
class SetTextCommand final : public QUndoCommand {
public:
    SetTextCommand(AttentionDocument *document, QString before, QString after);
    void undo() override { m_document->applyText(m_before); }
    void redo() override { m_document->applyText(m_after); }
    int id() const override { return int(CommandId::Text); }
    bool mergeWith(const QUndoCommand *other) override;

private:
    AttentionDocument *m_document;
    QString m_before;
    QString m_after;
};

// Any change of mask, temperature or scaling. Commands with the same label merge, so a whole slider
// drag is one step.
class SetSettingsCommand final : public QUndoCommand {
public:
    SetSettingsCommand(AttentionDocument *document, AttentionSettings before, AttentionSettings after,
                       const QString &label);
    void undo() override { m_document->applySettings(m_before); }
    void redo() override { m_document->applySettings(m_after); }
    int id() const override { return int(CommandId::Settings); }
    bool mergeWith(const QUndoCommand *other) override;

private:
    AttentionDocument *m_document;
    AttentionSettings m_before;
    AttentionSettings m_after;
};

// Replaces the whole workspace (dimensions, weights): used by edits that reshape the model.
class SetWorkspaceCommand final : public QUndoCommand {
public:
    SetWorkspaceCommand(AttentionDocument *document, Workspace before, Workspace after, const QString &label);
    void undo() override { m_document->applyWorkspace(m_before); }
    void redo() override { m_document->applyWorkspace(m_after); }

private:
    AttentionDocument *m_document;
    Workspace m_before;
    Workspace m_after;
};

} // namespace studio

#pragma once

#include "attentiondocument.h"

#include <QUndoCommand>

namespace studio {

// Command ids for merging consecutive edits of the same kind into one undo step.
enum class CommandId { Text = 1, TextPair, Settings, WeightCell, ComparisonText, Target };

// Typing into one of the sentences: consecutive keystrokes merge into one step.
class SetTextCommand final : public QUndoCommand {
public:
    enum class Field { Text, Pair, Comparison }; // the sentence, BERT's second sentence, the sentence compared with
    SetTextCommand(AttentionDocument *document, QString before, QString after, Field field = Field::Text);
    void undo() override;
    void redo() override;
    int id() const override;
    bool mergeWith(const QUndoCommand *other) override;

private:
    void apply(const QString &text);
    AttentionDocument *m_document;
    QString m_before;
    QString m_after;
    Field m_field;
};

// A generated token appended to the sentence: one undo step per token, never merged with typing.
class AppendTokenCommand final : public QUndoCommand {
public:
    AppendTokenCommand(AttentionDocument *document, QString before, QString after, const QString &token);
    void undo() override;
    void redo() override;

private:
    AttentionDocument *m_document;
    QString m_before;
    QString m_after;
};

// A translation's target: the text typed (teacher forcing) or the ids Translate produced, with the
// text shown for them. Typing merges into one step; each translated token is a step of its own.
class SetTargetCommand final : public QUndoCommand {
public:
    SetTargetCommand(AttentionDocument *document, AttentionDocument::Target before, AttentionDocument::Target after, const QString &label);
    void undo() override { m_document->applyTarget(m_before); }
    void redo() override { m_document->applyTarget(m_after); }
    int id() const override { return int(CommandId::Target); }
    bool mergeWith(const QUndoCommand *other) override;

private:
    AttentionDocument *m_document;
    AttentionDocument::Target m_before;
    AttentionDocument::Target m_after;
};

// Any change of mask, temperature or scaling. Consecutive edits of the same setting merge (by the
// edit's kind and key, never by their translated label), so a whole slider drag is one step; a
// step whose net change is nothing (a key hidden and shown again) is dropped.
class SetSettingsCommand final : public QUndoCommand {
public:
    using Edit = AttentionDocument::SettingsEdit;
    SetSettingsCommand(AttentionDocument *document, AttentionSettings before, AttentionSettings after, Edit edit, int key);
    void undo() override { m_document->applySettings(m_before); }
    void redo() override { m_document->applySettings(m_after); }
    int id() const override { return int(CommandId::Settings); }
    bool mergeWith(const QUndoCommand *other) override;
    static QString label(Edit edit, int key);

private:
    AttentionDocument *m_document;
    AttentionSettings m_before;
    AttentionSettings m_after;
    Edit m_edit;
    int m_key;
};

// Replaces the whole workspace: dimension changes, presets, randomising, loading a file.
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

// One weight cell. Edits of the same cell within one gesture (a scrub drag) merge.
class SetWeightCommand final : public QUndoCommand {
public:
    struct Cell {
        int head;
        Projection matrix;
        int row, col;
        friend bool operator==(const Cell &, const Cell &) = default;
    };
    SetWeightCommand(AttentionDocument *document, Cell cell, float before, float after, int gesture);
    void undo() override { apply(m_before); }
    void redo() override { apply(m_after); }
    int id() const override { return int(CommandId::WeightCell); }
    bool mergeWith(const QUndoCommand *other) override;

private:
    void apply(float value);
    AttentionDocument *m_document;
    Cell m_cell;
    float m_before;
    float m_after;
    int m_gesture;
};

} // namespace studio

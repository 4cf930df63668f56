#include "undocommands.h"

namespace studio {

SetTextCommand::SetTextCommand(AttentionDocument *document, QString before, QString after)
    : m_document(document), m_before(std::move(before)), m_after(std::move(after))
{
    setText(QObject::tr("Edit sentence"));
}

bool SetTextCommand::mergeWith(const QUndoCommand *other)
{
    m_after = static_cast<const SetTextCommand *>(other)->m_after;
    return true;
}

SetSettingsCommand::SetSettingsCommand(AttentionDocument *document, AttentionSettings before,
                                       AttentionSettings after, const QString &label)
    : m_document(document), m_before(std::move(before)), m_after(std::move(after))
{
    setText(label);
}

bool SetSettingsCommand::mergeWith(const QUndoCommand *other)
{
    if (other->text() != text())
        return false;
    m_after = static_cast<const SetSettingsCommand *>(other)->m_after;
    return true;
}

SetWorkspaceCommand::SetWorkspaceCommand(AttentionDocument *document, Workspace before, Workspace after,
                                         const QString &label)
    : m_document(document), m_before(std::move(before)), m_after(std::move(after))
{
    setText(label);
}

} // namespace studio

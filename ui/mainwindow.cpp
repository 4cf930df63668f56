#include "mainwindow.h"

#include "attentiondocument.h"
#include "heatmapview.h"

#include <QComboBox>
#include <QFormLayout>
#include <QLineEdit>
#include <QSignalBlocker>
#include <QVBoxLayout>

namespace studio {

MainWindow::MainWindow(QWidget *parent)
    : QMainWindow(parent), m_document(new AttentionDocument(this))
{
    setWindowTitle(tr("Attention Studio"));
    auto *central = new QWidget(this);
    auto *layout = new QVBoxLayout(central);
    auto *form = new QFormLayout;
    m_sentence = new QLineEdit(central);
    m_sentence->setObjectName(QStringLiteral("sentence"));
    m_sentence->setPlaceholderText(tr("Type a sentence"));
    m_sentence->setToolTip(tr("Every keystroke recomputes the attention of every head."));
    m_head = new QComboBox(central);
    m_head->setObjectName(QStringLiteral("head"));
    m_head->setToolTip(tr("The head shown in the heatmap"));
    form->addRow(tr("&Sentence:"), m_sentence);
    form->addRow(tr("&Head:"), m_head);
    layout->addLayout(form);
    m_heatmap = new HeatmapView(m_document, central);
    m_heatmap->setObjectName(QStringLiteral("heatmap"));
    layout->addWidget(m_heatmap, 1);
    setCentralWidget(central);
    setMinimumSize(480, 420);

    connect(m_sentence, &QLineEdit::textEdited, m_document, &AttentionDocument::editText);
    connect(m_head, &QComboBox::currentIndexChanged, m_document, &AttentionDocument::selectHead);
    connect(m_document, &AttentionDocument::traceChanged, this, &MainWindow::syncFromDocument);
    connect(m_document, &AttentionDocument::selectionChanged, this, &MainWindow::syncFromDocument);
    syncFromDocument();
}

void MainWindow::syncFromDocument()
{
    const QSignalBlocker blockSentence(m_sentence);
    const QSignalBlocker blockHead(m_head);
    if (m_sentence->text() != m_document->workspace().text)
        m_sentence->setText(m_document->workspace().text);
    m_head->clear();
    const auto &heads = m_document->workspace().heads;
    for (size_t h = 0; h < heads.size(); ++h)
        m_head->addItem(QStringLiteral("%1 · %2").arg(h).arg(heads[h].name));
    m_head->setCurrentIndex(m_document->selectedHead());
}

} // namespace studio

#include "downloaddialog.h"

#include "hubdownload.h"
#include "runmemory.h"

#include <QCompleter>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QTreeWidget>
#include <QUrl>
#include <QVBoxLayout>

namespace studio {

DownloadDialog::DownloadDialog(HubSettings settings, QWidget *parent)
    : QDialog(parent)
    , m_settings(std::move(settings))
{
    setWindowTitle(tr("Download a model from Hugging Face"));
    setObjectName(QStringLiteral("downloadDialog"));

    // A plain field: what the user types stays as typed (a combo box would put back its item on Enter).
    m_id = new QLineEdit(this);
    m_id->setObjectName(QStringLiteral("modelId"));
    m_id->setPlaceholderText(tr("gpt2, or org/name"));
    m_id->setClearButtonEnabled(true);
    m_revision = new QLineEdit(QStringLiteral("main"), this);
    m_revision->setObjectName(QStringLiteral("revision"));
    m_revision->setToolTip(tr("A branch, a tag or a commit."));

    m_suggestions = new QTreeWidget(this);
    m_suggestions->setObjectName(QStringLiteral("suggestions"));
    m_suggestions->setHeaderLabels({tr("Small models known to work"), tr("Download"), tr("What it is")});
    m_suggestions->setRootIsDecorated(false);
    m_suggestions->setAllColumnsShowFocus(true);
    QStringList ids;
    for (const SuggestedModel &model : suggestedModels()) {
        ids.append(model.id);
        auto *item = new QTreeWidgetItem(m_suggestions, {model.id, model.size, model.description});
        item->setTextAlignment(1, Qt::AlignRight | Qt::AlignVCenter);
    }
    m_id->setText(ids.constFirst());
    auto *completer = new QCompleter(ids, m_id);
    completer->setCaseSensitivity(Qt::CaseInsensitive);
    completer->setFilterMode(Qt::MatchContains);
    m_id->setCompleter(completer);
    m_suggestions->header()->setSectionResizeMode(QHeaderView::ResizeToContents);
    // Exactly the list's height: no empty band under the last model.
    const int listHeight = m_suggestions->sizeHintForRow(0) * m_suggestions->topLevelItemCount()
                         + m_suggestions->header()->sizeHint().height() + 2 * m_suggestions->frameWidth() + 4;
    m_suggestions->setFixedHeight(listHeight);
    // A click or the arrow keys choose a model; the first item a view makes current on its own
    // (when it gains focus, previous is null) must not replace what was typed.
    connect(m_suggestions, &QTreeWidget::itemClicked, this, [this](QTreeWidgetItem *item) { m_id->setText(item->text(0)); });
    connect(m_suggestions, &QTreeWidget::currentItemChanged, this, [this](QTreeWidgetItem *item, QTreeWidgetItem *previous) {
        if (item && previous && m_suggestions->isEnabled())
            m_id->setText(item->text(0));
    });
    connect(m_suggestions, &QTreeWidget::itemDoubleClicked, this, [this](QTreeWidgetItem *item) {
        m_id->setText(item->text(0));
        startDownload();
    });

    const QString host = QUrl(m_settings.endpoint).host();
    QString where = tr("Files go to the Hugging Face cache, %1, shared with Python's huggingface_hub. Only the config, "
                       "the tokenizer files and the safetensors weights are fetched, each checked against the Hub's checksum.")
                        .arg(m_settings.cache.toHtmlEscaped());
    if (host != QStringLiteral("huggingface.co"))
        where += QLatin1Char(' ') + tr("Endpoint: %1 (HF_ENDPOINT).").arg(host.toHtmlEscaped());
    where += QLatin1Char(' ') + (m_settings.token.isEmpty() ? tr("No token: gated models (Llama, Gemma) need one in HF_TOKEN.")
                                                            : tr("A token is set; it is sent to %1 only.").arg(host.toHtmlEscaped()));
    if (m_settings.offline)
        where += QLatin1Char(' ') + tr("<b>Offline</b> (HF_HUB_OFFLINE): only models already in the cache can be opened.");
    auto *about = new QLabel(where, this);
    about->setWordWrap(true);
    about->setTextFormat(Qt::RichText);
    about->setTextInteractionFlags(Qt::TextSelectableByMouse);

    m_progress = new QProgressBar(this);
    m_progress->setObjectName(QStringLiteral("progress"));
    m_progress->setRange(0, 1000);
    m_progress->setValue(0);
    m_progress->setTextVisible(true);
    m_progress->setFormat(QString());
    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("status"));
    m_status->setWordWrap(true);
    m_status->setTextFormat(Qt::RichText);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_status->setMinimumHeight(m_status->fontMetrics().lineSpacing() * 2);

    auto *buttons = new QDialogButtonBox(this);
    m_start = buttons->addButton(tr("Download"), QDialogButtonBox::AcceptRole);
    m_start->setObjectName(QStringLiteral("startDownload"));
    m_start->setDefault(true);
    m_cancel = buttons->addButton(QDialogButtonBox::Close);
    m_cancel->setObjectName(QStringLiteral("cancelDownload"));
    connect(m_start, &QPushButton::clicked, this, &DownloadDialog::startDownload);
    connect(m_cancel, &QPushButton::clicked, this, &DownloadDialog::reject);

    auto *form = new QFormLayout;
    form->addRow(tr("Model id:"), m_id);
    form->addRow(tr("Revision:"), m_revision);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(m_suggestions);
    layout->addWidget(about);
    layout->addWidget(m_progress);
    layout->addWidget(m_status);
    layout->addWidget(buttons);
    // Wide enough for the whole list; a projector's 1280×720 still has room around it.
    m_suggestions->resizeColumnToContents(2);
    resize(std::max(760, m_suggestions->header()->length() + 40), sizeHint().height());

    m_download = new HubDownload(m_settings, this);
    connect(m_download, &HubDownload::progress, this, &DownloadDialog::onProgress);
    connect(m_download, &HubDownload::finished, this, &DownloadDialog::onFinished);
}

DownloadDialog::~DownloadDialog() = default;

void DownloadDialog::setModelId(const QString &id)
{
    m_id->setText(id);
}

bool DownloadDialog::isDownloading() const
{
    return m_download->isRunning();
}

QString DownloadDialog::status() const
{
    return m_status->text();
}

void DownloadDialog::startDownload()
{
    if (isDownloading())
        return;
    m_modelId = m_id->text().trimmed();
    m_firstDone = -1;
    m_clock.start();
    m_progress->setValue(0);
    m_progress->setFormat(QString());
    m_status->setStyleSheet(QString());
    m_status->setText(tr("Asking the Hub for the files of %1…").arg(m_modelId.toHtmlEscaped()));
    setRunning(true);
    m_download->start(m_modelId, m_revision->text());
}

void DownloadDialog::onProgress(qint64 done, qint64 total, const QString &file)
{
    if (m_firstDone < 0) {
        m_firstDone = done; // what was already here does not count towards the rate
        m_clock.restart();
    }
    if (total > 0) {
        m_progress->setRange(0, 1000); // before the value: a busy bar (range 0–0) would clamp it
        m_progress->setValue(int(double(done) / double(total) * 1000.0));
        m_progress->setFormat(QStringLiteral("%1 %").arg(double(done) * 100.0 / double(total), 0, 'f', 1));
    } else {
        m_progress->setRange(0, 0); // the total is known once the index names its shards
    }
    const QString text = transferText(done, total, done - m_firstDone, m_clock.elapsed());
    m_status->setText(file.isEmpty() ? text : tr("%1 — %2").arg(text, file.toHtmlEscaped()));
}

void DownloadDialog::onFinished(const QString &snapshot, const QString &error)
{
    setRunning(false);
    if (m_progress->maximum() == 0)
        m_progress->setRange(0, 1000);
    if (!error.isEmpty()) {
        m_status->setStyleSheet(QStringLiteral("color: #b00020;"));
        m_status->setText(error.toHtmlEscaped());
        return;
    }
    m_progress->setValue(1000);
    m_progress->setFormat(QStringLiteral("100 %"));
    m_status->setText(tr("<b>%1</b> is ready and open in the window. It stays in the cache, in the Model box.").arg(m_modelId.toHtmlEscaped()));
    Q_EMIT downloaded(snapshot, m_modelId);
}

void DownloadDialog::setRunning(bool running)
{
    m_start->setEnabled(!running);
    m_id->setEnabled(!running);
    m_revision->setEnabled(!running);
    m_suggestions->setEnabled(!running);
    m_cancel->setText(running ? tr("Cancel") : tr("Close"));
}

void DownloadDialog::reject()
{
    if (isDownloading()) {
        m_download->cancel(); // the part fetched is kept: the next download resumes
        return;
    }
    QDialog::reject();
}

} // namespace studio

#pragma once

#include "hubcache.h"

#include <QDialog>
#include <QElapsedTimer>

class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QTreeWidget;

namespace studio {

class HubDownload;

// Model box ▸ "Download from Hugging Face…": a model id and a revision, a short list of small
// models known to open, then the download with its progress (bytes, rate, time left) and Cancel.
// The window stays usable throughout; a failed or cancelled download can be started again and
// resumes where it stopped.
class DownloadDialog : public QDialog {
    Q_OBJECT
public:
    explicit DownloadDialog(HubSettings settings, QWidget *parent = nullptr);
    ~DownloadDialog() override;

    void setModelId(const QString &id);
    void startDownload();
    bool isDownloading() const;
    QString status() const;

Q_SIGNALS:
    // A complete snapshot folder, ready to open.
    void downloaded(const QString &snapshotFolder, const QString &modelId);

protected:
    void reject() override; // Escape or Close: cancels a running download first

private:
    void onProgress(qint64 done, qint64 total, const QString &file);
    void onFinished(const QString &snapshot, const QString &error);
    void setRunning(bool running);

    HubSettings m_settings;
    HubDownload *m_download = nullptr;
    QLineEdit *m_id = nullptr;
    QLineEdit *m_revision = nullptr;
    QTreeWidget *m_suggestions = nullptr;
    QProgressBar *m_progress = nullptr;
    QLabel *m_status = nullptr;
    QPushButton *m_start = nullptr;
    QPushButton *m_cancel = nullptr;
    QElapsedTimer m_clock;
    qint64 m_firstDone = -1;
    QString m_modelId;
};

} // namespace studio

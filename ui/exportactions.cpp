#include "exportactions.h"

#include "attentiondocument.h"
#include "figureview.h"
#include "preferences.h"
#include "viewoptions.h"
#include "tracejson.h"
#include "workspace.h"
#include "atomicfile.h"
#include "handout.h"

#include <QApplication>
#include <QEventLoop>
#include <QProgressDialog>
#include <QThread>

#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cmath>

namespace studio {

Status exportView(FigureView &view, FigureFormat format, const QString &path, int dpi)
{
    view.updateFigure();
    return exportFigure([&view](QPainter &painter, const QRectF &area) { view.paintFigure(painter, area); },
                        view.figureSize(), format, path, dpi, view.figureName());
}

Status exportViewInteractively(QWidget *parent, FigureView &view)
{
    QString filter;
    const QString suggested = QDir(preferences::lastFolder.get()).filePath(view.figureName() + QStringLiteral(".png"));
    const QString path = QFileDialog::getSaveFileName(parent, QObject::tr("Export the %1").arg(figureKindTitle(view.figureKind())), suggested,
                                                      QObject::tr("PNG image (*.png);;SVG drawing (*.svg);;PDF document (*.pdf)"), &filter);
    if (path.isEmpty())
        return Status::success(); // cancelled
    preferences::lastFolder.set(QFileInfo(path).absolutePath());
    const FigureFormat format = figureFormatFromName(QFileInfo(path).suffix())
        .value_or(filter.startsWith(QStringLiteral("SVG")) ? FigureFormat::Svg : filter.startsWith(QStringLiteral("PDF")) ? FigureFormat::Pdf : FigureFormat::Png);
    int dpi = preferences::exportDpi.get();
    if (format == FigureFormat::Png) {
        bool ok = false;
        dpi = QInputDialog::getInt(parent, QObject::tr("PNG resolution"), QObject::tr("Dots per inch:"), dpi, 24, 1200, 24, &ok);
        if (!ok)
            return Status::success(); // cancelled
        preferences::exportDpi.set(dpi);
    }
    return exportView(view, format, path, dpi);
}

Result<int> exportAllHeads(const AttentionDocument &document, const ViewOptions &options, const QString &folder,
                           FigureFormat format, int dpi)
{
    if (!QFileInfo(folder).isDir())
        return Result<int>::failure(QObject::tr("%1 is not a folder").arg(folder));
    const AttentionResult &result = document.result();
    HeatmapStyle style;
    style.font = options.font();
    int count = 0;
    for (int layer = 0; layer < result.layers; ++layer) {
        for (int head = 0; head < result.heads; ++head) {
            FigureContext context = documentContext(document);
            context.layer = layer;
            context.head = head;
            context.headName = document.headName(layer, head);
            static const HeadDetails none;
            HeatmapFigure figure = headHeatmap(result, none, context, HeatmapStage::Weights, colorMapFor(ValueKind::Weights, options.colorMap()));
            figure.showNumbers = options.showNumbers();
            figure.vectorCells = format != FigureFormat::Png;
            const QString path = QDir(folder).filePath(QStringLiteral("layer%1-head%2.%3").arg(layer).arg(head).arg(figureFormatName(format)));
            const Status written = exportFigure([&](QPainter &p, const QRectF &area) { paintHeatmapFigure(p, area, figure, style); },
                                                preferredHeatmapSize(figure, style), format, path, dpi, figure.caption.value(1));
            if (!written)
                return Result<int>::failure(written.error);
            ++count;
        }
    }
    return {count, {}};
}

Status exportAllHeadsInteractively(QWidget *parent, const AttentionDocument &document, const ViewOptions &options)
{
    const QString folder = QFileDialog::getExistingDirectory(parent, QObject::tr("Choose the folder for every head's figure"), preferences::lastFolder.get());
    if (folder.isEmpty())
        return Status::success(); // cancelled
    bool ok = false;
    const QString choice = QInputDialog::getItem(parent, QObject::tr("Format"), QObject::tr("Write every head as:"),
                                                 {QStringLiteral("png"), QStringLiteral("svg"), QStringLiteral("pdf")}, 0, false, &ok);
    if (!ok)
        return Status::success(); // cancelled
    preferences::lastFolder.set(folder);
    const Result<int> written = exportAllHeads(document, options, folder, figureFormatFromName(choice).value_or(FigureFormat::Png),
                                               preferences::exportDpi.get());
    return written ? Status::success() : Status::failure(written.error);
}

Status exportMatrices(const AttentionDocument &document, const QString &path)
{
    const HeadDetails &d = document.selectedDetails();
    const AttentionResult &result = document.result();
    if (QFileInfo(path).suffix().compare(QStringLiteral("csv"), Qt::CaseInsensitive) == 0) {
        // The weights: a header row of keys, then one row per query.
        QByteArray bytes;
        auto quote = [](QString s) { return QLatin1Char('"') + s.replace(QLatin1Char('"'), QStringLiteral("\"\"")) + QLatin1Char('"'); };
        QStringList header{quote(QStringLiteral("query \\ key"))};
        for (const QString &label : result.labels)
            header.append(quote(label));
        bytes += header.join(QLatin1Char(',')).toUtf8() + '\n';
        for (int i = 0; i < d.trace.weights.rows(); ++i) {
            QStringList row{quote(result.labels.value(i))};
            for (int j = 0; j < d.trace.weights.cols(); ++j)
                row.append(QString::number(double(d.trace.weights(i, j)), 'g', 9));
            bytes += row.join(QLatin1Char(',')).toUtf8() + '\n';
        }
        return writeFileAtomically(path, bytes);
    }
    // Every stage as JSON, streamed: a long text's stages are hundreds of megabytes of text.
    AtomicFile file(path);
    if (const Status opened = file.open(); !opened)
        return opened;
    JsonStream out([&file](const QByteArray &chunk) { return file.write(chunk); });
    out.beginObject();
    out.key(QStringLiteral("model"));
    out.string(document.modelDescription());
    out.key(QStringLiteral("layer"));
    out.integer(d.layer);
    out.key(QStringLiteral("head"));
    out.integer(d.head);
    out.key(QStringLiteral("tokens"));
    out.value(QJsonArray::fromStringList(result.labels));
    writeTraceMatrix(out, QStringLiteral("input"), d.input);
    writeTraceMatrix(out, QStringLiteral("w_q"), d.wQ);
    writeTraceMatrix(out, QStringLiteral("w_k"), d.wK);
    writeTraceMatrix(out, QStringLiteral("w_v"), d.wV);
    writeHeadStages(out, d.trace);
    out.endObject();
    if (out.finish())
        file.write(QByteArrayLiteral("\n"));
    return file.commit();
}

Status exportMatricesInteractively(QWidget *parent, const AttentionDocument &document)
{
    const QString path = QFileDialog::getSaveFileName(parent, QObject::tr("Export matrices"),
                                                      QDir(preferences::lastFolder.get()).filePath(QStringLiteral("head.json")),
                                                      QObject::tr("Every stage as JSON (*.json);;Weights as CSV (*.csv)"));
    if (path.isEmpty())
        return Status::success(); // cancelled
    preferences::lastFolder.set(QFileInfo(path).absolutePath());
    return exportMatrices(document, path);
}

namespace {

// What a handout needs from the document, copied (the maps shared) so a worker can build it while
// the window goes on.
struct HandoutJob {
    std::vector<Scene> scenes;
    std::shared_ptr<const Checkpoint> checkpoint;
    std::optional<FigureSource> current; // without scenes: the selected head
    int query = 0;
    int key = -1;
    QString title;
};

HandoutJob handoutJob(const AttentionDocument &document)
{
    HandoutJob job;
    job.scenes = document.scenes();
    job.checkpoint = document.sharedCheckpoint();
    if (job.scenes.empty() && document.tokenCount() > 0)
        job.current = FigureSource{document.result(), document.selectedDetails(), documentContext(document)};
    job.query = std::max(0, document.selectedQuery());
    job.key = document.selectedKey();
    job.title = document.currentFile().isEmpty() ? documentContext(document).quotedSentence()
                                                 : QFileInfo(document.currentFile()).completeBaseName();
    return job;
}

Status runHandoutJob(const HandoutJob &job, const QString &path, const std::function<void(int, int)> &progress)
{
    std::vector<HandoutPage> pages;
    if (!job.scenes.empty()) {
        const CheckpointOpener open = [&job](const QString &folder) -> Result<std::shared_ptr<const Checkpoint>> {
            // The model already open in the window is used as it is.
            if (job.checkpoint && QFileInfo(job.checkpoint->directory).canonicalFilePath() == QFileInfo(folder).canonicalFilePath())
                return {job.checkpoint, {}};
            Result<std::shared_ptr<Checkpoint>> opened = openCheckpoint(folder);
            if (!opened)
                return Result<std::shared_ptr<const Checkpoint>>::failure(opened.error);
            return {std::shared_ptr<const Checkpoint>(*opened.value), {}};
        };
        Result<std::vector<HandoutPage>> built = sceneHandoutPages(job.scenes, open, progress);
        if (!built)
            return Status::failure(built.error);
        pages = std::move(*built.value);
    } else if (job.current) {
        pages = stageHandoutPages(*job.current, job.query, job.key);
    } else {
        return Status::failure(QObject::tr("Type a sentence first: the handout shows its attention."));
    }
    return writeHandout(pages, path, job.title);
}

} // namespace

Status exportHandout(const AttentionDocument &document, const QString &path)
{
    return runHandoutJob(handoutJob(document), path, {});
}

Status exportHandoutInteractively(QWidget *parent, const AttentionDocument &document)
{
    const QString suggested = document.currentFile().isEmpty() ? QStringLiteral("handout.pdf")
                                                               : QFileInfo(document.currentFile()).completeBaseName().section(QLatin1Char('.'), 0, 0) + QStringLiteral("-handout.pdf");
    QString path = QFileDialog::getSaveFileName(parent, QObject::tr("Export handout"),
                                                QDir(preferences::lastFolder.get()).filePath(suggested), QObject::tr("PDF (*.pdf)"));
    if (path.isEmpty())
        return Status::success(); // cancelled
    if (!path.endsWith(QStringLiteral(".pdf"), Qt::CaseInsensitive))
        path += QStringLiteral(".pdf");
    preferences::lastFolder.set(QFileInfo(path).absolutePath());
    return exportHandoutWithProgress(parent, document, path);
}

Status exportHandoutWithProgress(QWidget *parent, const AttentionDocument &document, const QString &path)
{
    // Checkpoint scenes run a forward pass each: on a worker, with progress, the window alive.
    const HandoutJob job = handoutJob(document);
    QProgressDialog dialog(QObject::tr("Writing the handout…"), QString(), 0, std::max<int>(1, int(job.scenes.size())), parent);
    dialog.setWindowTitle(QObject::tr("Export handout"));
    dialog.setWindowModality(Qt::WindowModal);
    dialog.setMinimumDuration(300);
    Status status = Status::success();
    QEventLoop loop;
    QThread *worker = QThread::create([&job, &status, path, &dialog] {
        status = runHandoutJob(job, path, [&dialog](int done, int total) {
            QMetaObject::invokeMethod(&dialog, [&dialog, done, total] { dialog.setMaximum(total); dialog.setValue(done); }, Qt::QueuedConnection);
        });
    });
    QObject::connect(worker, &QThread::finished, &loop, &QEventLoop::quit);
    worker->start();
    loop.exec();
    worker->wait();
    delete worker;
    // Progress posted by the worker after the loop ended must not reach the dialog, gone after return.
    QCoreApplication::removePostedEvents(&dialog);
    return status;
}

} // namespace studio

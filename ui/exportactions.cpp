#include "exportactions.h"

#include "attentiondocument.h"
#include "figureview.h"
#include "preferences.h"
#include "viewoptions.h"
#include "tracejson.h"
#include "workspace.h"
#include "atomicfile.h"

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
            HeatmapFigure figure = headHeatmap(result, none, context, HeatmapStage::Weights, options.colorMap());
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

} // namespace studio

#include "figurefile.h"

#include "pngencoder.h"

#include "atomicfile.h"

#include <QBuffer>
#include <QImage>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QSvgGenerator>

#include <cmath>

namespace studio {

namespace {

constexpr double kLogicalDpi = 96.0;

} // namespace

std::optional<FigureFormat> figureFormatFromName(const QString &name)
{
    for (FigureFormat candidate : {FigureFormat::Png, FigureFormat::Svg, FigureFormat::Pdf})
        if (figureFormatName(candidate) == name.toLower())
            return candidate;
    return std::nullopt;
}

QString figureFormatName(FigureFormat format)
{
    switch (format) {
    case FigureFormat::Png: return QStringLiteral("png");
    case FigureFormat::Svg: return QStringLiteral("svg");
    case FigureFormat::Pdf: return QStringLiteral("pdf");
    }
    return {};
}

Status exportFigure(const FigurePainter &paint, const QSizeF &logicalSize, FigureFormat format,
                     const QString &path, int dpi, const QString &title)
{
    const QRectF area(QPointF(0, 0), logicalSize);
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);

    switch (format) {
    case FigureFormat::Png: {
        if (dpi < 24 || dpi > 1200)
            return Status::failure(QStringLiteral("--dpi must be between 24 and 1200 (got %1)").arg(dpi));
        const double scale = dpi / kLogicalDpi;
        const QSize pixels(int(std::ceil(logicalSize.width() * scale)), int(std::ceil(logicalSize.height() * scale)));
        if (qint64(pixels.width()) * pixels.height() > 400LL * 1000 * 1000)
            return Status::failure(QStringLiteral("the image would be %1×%2 pixels; lower the DPI").arg(pixels.width()).arg(pixels.height()));
        QImage image(pixels, QImage::Format_ARGB32_Premultiplied);
        if (image.isNull())
            return Status::failure(QStringLiteral("not enough memory for a %1×%2 image").arg(pixels.width()).arg(pixels.height()));
        image.fill(Qt::white);
        image.setDotsPerMeterX(int(std::lround(dpi / 0.0254)));
        image.setDotsPerMeterY(int(std::lround(dpi / 0.0254)));
        {
            QPainter painter(&image);
            painter.setRenderHint(QPainter::Antialiasing);
            painter.setRenderHint(QPainter::TextAntialiasing);
            painter.scale(scale, scale);
            paint(painter, area);
        }
        // Opaque (the figure fills white first): RGB without an alpha channel, encoded fast.
        const std::optional<QByteArray> png = encodeOpaquePng(image);
        if (!png)
            return Status::failure(QStringLiteral("could not encode the PNG image"));
        bytes = *png;
        break;
    }
    case FigureFormat::Svg: {
        QSvgGenerator generator;
        generator.setOutputDevice(&buffer);
        generator.setSize(logicalSize.toSize());
        generator.setViewBox(area);
        generator.setResolution(int(kLogicalDpi));
        generator.setTitle(title);
        generator.setDescription(QStringLiteral("Made with Attention Studio"));
        QPainter painter(&generator);
        painter.setRenderHint(QPainter::Antialiasing);
        paint(painter, area);
        painter.end();
        break;
    }
    case FigureFormat::Pdf: {
        QPdfWriter writer(&buffer);
        writer.setResolution(int(kLogicalDpi));
        writer.setPageSize(QPageSize(logicalSize * (72.0 / kLogicalDpi), QPageSize::Point, {}, QPageSize::ExactMatch));
        writer.setPageMargins(QMarginsF(0, 0, 0, 0));
        writer.setTitle(title);
        writer.setCreator(QStringLiteral("Attention Studio"));
        QPainter painter(&writer);
        painter.setRenderHint(QPainter::Antialiasing);
        // Bitmaps go in losslessly: Qt's PDF writer otherwise stores them as JPEG, whose artefacts
        // change the colours a figure's scale promises.
        painter.setRenderHint(QPainter::LosslessImageRendering);
        // Map the figure's logical units onto the page whatever rounding the page size got.
        const double sx = writer.width() / logicalSize.width();
        const double sy = writer.height() / logicalSize.height();
        painter.scale(std::min(sx, sy), std::min(sx, sy));
        paint(painter, area);
        painter.end();
        break;
    }
    }
    buffer.close();
    return writeFileAtomically(path, bytes);
}

} // namespace studio

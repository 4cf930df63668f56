#pragma once

#include <QSizeF>
#include "result.h"

#include <QString>

#include <optional>

#include <functional>

class QPainter;
class QRectF;

namespace studio {

enum class FigureFormat { Png, Svg, Pdf };

std::optional<FigureFormat> figureFormatFromName(const QString &name);
QString figureFormatName(FigureFormat format);

// Paints a figure into the given rectangle (logical units of 1/96 inch).
using FigurePainter = std::function<void(QPainter &, const QRectF &)>;

// Renders a figure of the given logical size to a file. PNG is rasterised at dpi (96 = one pixel per
// logical unit); SVG and PDF stay vector (text as text). The file is written atomically.
Status exportFigure(const FigurePainter &paint, const QSizeF &logicalSize, FigureFormat format,
                     const QString &path, int dpi = 192, const QString &title = {});

} // namespace studio

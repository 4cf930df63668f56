#pragma once

// Checks of exported figure files, shared by the tests of the window, the command line and the
// figures library.

#include "figurefile.h"

#include <QFile>
#include <QImage>
#include <QXmlStreamReader>

namespace studio::testing {

// Whether the file at path is a readable figure of that format: a PNG larger than a thumbnail,
// well-formed SVG with an <svg> root, or a PDF with at least one page.
inline bool opensAs(const QString &path, FigureFormat format)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return false;
    const QByteArray bytes = file.readAll();
    switch (format) {
    case FigureFormat::Png: {
        QImage image;
        return image.loadFromData(bytes, "PNG") && image.width() > 100 && image.height() > 100;
    }
    case FigureFormat::Svg: {
        QXmlStreamReader xml(bytes);
        bool svg = false;
        while (!xml.atEnd())
            if (xml.readNext() == QXmlStreamReader::StartElement && xml.name() == QStringLiteral("svg"))
                svg = true;
        return svg && !xml.hasError();
    }
    case FigureFormat::Pdf:
        return bytes.startsWith("%PDF-") && bytes.contains("/Type /Page");
    }
    return false;
}

} // namespace studio::testing

#pragma once

#include <QByteArray>
#include <QImage>

#include <optional>

namespace studio {

// An opaque image as PNG (8-bit RGB, its resolution in pHYs), encoded by libpng with one cheap row
// filter ("up") and a light zlib level: figures are flat colours and text, for which this gives files
// close to the default's size in a fraction of its time (QImageWriter tries every filter on every
// row and cannot be told otherwise). nullopt when libpng fails.
std::optional<QByteArray> encodeOpaquePng(const QImage &image);

} // namespace studio

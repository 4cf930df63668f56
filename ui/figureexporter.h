#pragma once

#include "figureexport.h"

#include <QString>

class QWidget;

namespace studio {

class AttentionDocument;
class FigureView;
class ViewOptions;

// Export helpers behind the File menu. Each writes atomically and returns an error message (empty
// on success); the interactive ones ask for a file name first and return {} when cancelled.
QString exportView(const FigureView &view, FigureFormat format, const QString &path, int dpi);
QString exportViewInteractively(QWidget *parent, const FigureView &view);
// Every layer × head heatmap into a folder, named layer<L>-head<H>.<format>.
QString exportAllHeads(const AttentionDocument &document, const ViewOptions &options, const QString &folder,
                       FigureFormat format, int dpi, int *written = nullptr);
QString exportAllHeadsInteractively(QWidget *parent, const AttentionDocument &document, const ViewOptions &options);
// The selected head's stage matrices: CSV (one matrix, the weights) or JSON (every stage).
QString exportMatrices(const AttentionDocument &document, const QString &path);
QString exportMatricesInteractively(QWidget *parent, const AttentionDocument &document);

} // namespace studio

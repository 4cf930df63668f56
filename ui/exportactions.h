#pragma once

#include "figurefile.h"

#include <QString>

class QWidget;

namespace studio {

class AttentionDocument;
class FigureView;
class ViewOptions;

// Export helpers behind the File menu. Each writes atomically or says why not; the interactive ones
// ask for a file name first, and succeed without writing when the user cancels.
Status exportView(FigureView &view, FigureFormat format, const QString &path, int dpi);
Status exportViewInteractively(QWidget *parent, FigureView &view);
// Every layer × head heatmap into a folder, named layer<L>-head<H>.<format>.
// Returns how many files were written.
Result<int> exportAllHeads(const AttentionDocument &document, const ViewOptions &options, const QString &folder,
                           FigureFormat format, int dpi);
Status exportAllHeadsInteractively(QWidget *parent, const AttentionDocument &document, const ViewOptions &options);
// The selected head's stage matrices: CSV (one matrix, the weights) or JSON (every stage).
Status exportMatrices(const AttentionDocument &document, const QString &path);
Status exportMatricesInteractively(QWidget *parent, const AttentionDocument &document);
// A handout PDF: a page per scene, or without scenes a page per stage of the selected head (for
// the selected query). The interactive one runs on a worker with progress shown.
Status exportHandout(const AttentionDocument &document, const QString &path);
Status exportHandoutInteractively(QWidget *parent, const AttentionDocument &document);
// The same to a given file, built on a worker thread while a progress dialog keeps the window alive.
Status exportHandoutWithProgress(QWidget *parent, const AttentionDocument &document, const QString &path);

} // namespace studio

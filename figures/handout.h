#pragma once

#include "figurekind.h"
#include "figuresource.h"
#include "workspace.h"

#include <functional>
#include <memory>
#include <vector>

namespace studio {

// One page of a handout: a heading, the stage's formula, its figure, the worked arithmetic for the
// selected query (HTML) and a caption.
struct HandoutPage {
    QString heading;
    QString formula;
    BuiltFigure figure;
    QString arithmetic;
    QStringList caption;
};

// The page of one stage of the source's head, for a query and key (−1: the first query, the key
// it attends to most). view picks the figure: the stage's matrix (steps, or the heatmap's weights),
// the head view's arcs or the model view.
HandoutPage handoutPage(const FigureSource &source, Stage stage, int query, int key, const QString &heading,
                        FigureKind view = FigureKind::Steps);
// Without scenes: a page per stage of the source's head.
std::vector<HandoutPage> stageHandoutPages(const FigureSource &source, int query, int key);

// Opens the checkpoint of a scene (a cache can hand out one already open).
using CheckpointOpener = std::function<Result<std::shared_ptr<const Checkpoint>>(const QString &folder)>;
// A page per scene, each from its own state: model, sentence, settings, head, stage, query and key;
// a scene that hides its weights hides them on its page too. progress(done, total) after each.
Result<std::vector<HandoutPage>> sceneHandoutPages(const std::vector<Scene> &scenes, const CheckpointOpener &open,
                                                   const std::function<void(int, int)> &progress = {});

// Writes the pages as one vector PDF (A4 portrait, text as text, figures as vector cells),
// atomically. The figure takes the top of each page, shrunk to fit; the arithmetic below it
// shrinks (down to a legible minimum) rather than spilling off the page.
Status writeHandout(const std::vector<HandoutPage> &pages, const QString &path, const QString &title);

} // namespace studio

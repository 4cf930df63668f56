#pragma once

#include <QWidget>

class QLabel;
class QTextBrowser;

namespace studio {

class AttentionDocument;
class MatrixCanvas;
class ViewOptions;

// Presenter mode: full screen, the selected head's current stage as one large matrix beside the
// arithmetic for the selected query, every font sized for the back row (the matrix's font is the
// largest at which every token label and every cell's number fits). A clicker drives it whatever
// has the focus: Page Down, →, ↓ and Space go to the next stage, and after the last stage to the
// next query; Page Up, ←, ↑ go back (while a scene plays, Page Down and Page Up go scene by
// scene); hidden weights are revealed by the next forward key; B (or .) blacks the screen out and back; Esc leaves.
class PresenterWindow : public QWidget {
    Q_OBJECT
public:
    PresenterWindow(AttentionDocument *document, ViewOptions *options, QWidget *parent = nullptr);

    void next();
    void previous();
    // While a scene plays (Page Down / Page Up): the next or previous scene; otherwise next()
    // and previous(). Weights hidden for the class to predict are revealed first.
    void nextScene();
    void previousScene();
    void toggleBlack();
    bool isBlack() const;
    int matrixFontPixels() const { return m_matrixFontPixels; }
    MatrixCanvas *canvas() const { return m_canvas; }
    QString titleText() const;
    QString subtitleText() const;
    QString arithmeticText() const;

    // The base font for a screen of this height: 720 px gives 24 px text.
    static int baseFontPixels(int screenHeight);

protected:
    void keyPressEvent(QKeyEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    void showEvent(QShowEvent *event) override;

private:
    void rebuild();
    void fitMatrix();
    void fitArithmetic(int base);

    AttentionDocument *m_document;
    ViewOptions *m_options;
    QLabel *m_title;
    QLabel *m_subtitle;
    MatrixCanvas *m_canvas;
    QTextBrowser *m_arithmetic;
    QLabel *m_hint;
    QWidget *m_black;
    int m_matrixFontPixels = 0;
};

} // namespace studio
